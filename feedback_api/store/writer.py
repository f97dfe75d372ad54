"""Group commit: submissions that arrive together in one process share one transaction.

An acknowledged submission must survive power loss, so every commit is fsynced (SQLite:
WAL + synchronous=FULL; PostgreSQL: a committed transaction). One fsync per request caps
throughput; here the request threads form a queue, and whichever finds no commit under
way becomes the leader: it inserts everything queued in one statement and one commit,
wakes the others, and hands the lead to the next one still waiting. Nothing is
acknowledged before its commit returns.

Leader/follower rather than a dedicated writer thread: a request alone costs no
thread hand-off at all, and under load each follower is woken once. (A writer thread
made every request hop threads twice; under gunicorn that cost more CPU than the insert.)

Routing to review tasks (`on_batch`) runs in the batch's own transaction here. The writer
process instead sets `defer_routing`: a batch is stored with `routed` false, answered, and
routed by `route_unrouted()` in a later transaction, with the batches that came meanwhile;
`route_leftovers()` routes what a stopped writer left (migration 0012). A row is claimed
(`routed` set, in the routing's transaction) before it is routed, so whoever routes it
first (the writer, a worker committing itself, an amend) is the only one who does.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import logging
import operator
import os
import threading
import time
from collections.abc import Callable, Iterator

from sqlalchemy import Connection, Engine, Table, bindparam, false, select, true, update
from sqlalchemy.exc import DBAPIError

from .prepared import Prepared

log = logging.getLogger(__name__)

# Called inside the batch's transaction with the rows it inserted (each with its new "id");
# returns {idempotency_key: task_id}. The review-task router plugs in here.
BatchHook = Callable[[Connection, list[dict]], dict[str, int | None]]


class _Slot:
    """One waiting row. `ready` is held until its batch is done or it is made leader."""

    __slots__ = ("row", "ready", "outcome", "error", "lead")

    def __init__(self, row: dict):
        self.row = row
        self.ready = threading.Lock()
        self.ready.acquire()
        self.outcome: tuple[int, int | None] | None = None
        self.error: BaseException | None = None
        self.lead = False


class GroupCommitter:
    def __init__(self, engine: Engine, table: Table, *, max_batch: int = 256):
        self.engine = engine
        self.table = table
        self.max_batch = max_batch
        self.on_batch: BatchHook | None = None
        self._mutex = threading.Lock()
        self._pending: list[_Slot] = []
        self._leading = False
        self._lock_path = _sqlite_lock_path(engine)
        self._lock_fd: int | None = None
        self._lock_pid: int | None = None
        # (columns, defer_routing) -> how rows of those columns are bound (_shape).
        self._shapes: dict[tuple, tuple] = {}
        self._held: Connection | None = None
        # The writer process's mode: rows committed, answered, and routed a moment later.
        self.defer_routing = False
        self.unrouted: list[dict] = []  # committed with `routed` false, not routed yet
        self._leftovers_checked = False  # a process committing itself looks once

    def insert(self, row: dict, timeout: float = 10.0) -> tuple[int, int | None] | None:
        """Insert `row`; return (id, task_id), or None when its idempotency key exists.

        Raises the store's exception (or TimeoutError) when the commit did not happen.
        """
        slot = _Slot(row)
        with self._mutex:
            self._pending.append(slot)
            lead = not self._leading
            self._leading = True
        if not lead and not slot.ready.acquire(timeout=timeout):
            with self._mutex:
                if slot in self._pending and not slot.lead:
                    self._pending.remove(slot)  # never taken: withdraw it
                    raise TimeoutError("the store did not commit in time")
            if not slot.lead:
                raise TimeoutError("the store did not commit in time")
        if lead:
            # Under gevent a commit holds the whole worker (SQLite never yields): first let
            # the requests that are ready queue their rows, so that they share this commit.
            # With threads it only gives up the GIL once.
            time.sleep(0)
        if lead or slot.lead:
            self._lead(slot)
            if not self._leftovers_checked and not self.defer_routing:
                # A writer process that stopped may have left rows it had not routed; a
                # process that commits itself (no writer, or its fallback) routes them.
                self._leftovers_checked = True
                self.route_leftovers()
        if slot.error is not None:
            raise slot.error
        return slot.outcome

    def _lead(self, me: _Slot) -> None:
        with self._mutex:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
        try:
            self._commit(batch)
        finally:
            with self._mutex:
                if self._pending:
                    successor = self._pending[0]
                    successor.lead = True
                else:
                    successor = None
                    self._leading = False
            for slot in batch:
                if slot is not me:
                    slot.ready.release()
            if successor is not None:
                successor.ready.release()

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """On SQLite, take turns with the other processes through a kernel file lock.

        SQLite's own busy handler sleeps in steps of milliseconds when another process
        writes, which ruins latency under load; flock() wakes the next writer at once.
        """
        if self._lock_path is None:
            yield
            return
        if self._lock_fd is None or self._lock_pid != os.getpid():
            # A descriptor inherited through fork() would share its lock with the parent.
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_pid = os.getpid()
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _insert_sql(self, rows: list[dict]) -> tuple[str, list]:
        """One multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING, and its parameters.

        Rendered once per batch size and bound with SQLAlchemy's own type processors (so
        stored values are exactly what the ORM writes and reads): the ORM's insertmanyvalues
        path cost more CPU per row than the insert itself. With `defer_routing` each row is
        stored with `routed` false.
        """
        columns = tuple(rows[0])
        shape = self._shapes.get((columns, self.defer_routing))
        if shape is None:
            shape = self._shape(columns)
        values_of, processed, routed, sql_by_size = shape
        size = len(rows)
        sql = sql_by_size.get(size)
        if sql is None:
            sql = sql_by_size[size] = self._render(columns, size)
        params: list = []
        for row in rows:
            if len(row) != len(columns):
                raise ValueError("every row must have the same columns, in the same order")
            values = list(values_of(row))  # in column order, by name: one C call
            for i, process in processed:
                values[i] = process(values[i])
            params += values
            if routed:
                params += routed
        return sql, params

    def _shape(self, columns: tuple[str, ...]) -> tuple:
        """What binding rows of these columns takes: a getter of their values in column
        order, the type processors that apply (by position), the `routed` value appended
        when routing is deferred, and the SQL rendered so far by batch size."""
        dialect = self.engine.dialect
        processors = [self.table.c[name].type._cached_bind_processor(dialect) for name in columns]
        processed = [(i, process) for i, process in enumerate(processors) if process is not None]
        routed: tuple = ()
        if self.defer_routing:
            process = self.table.c.routed.type._cached_bind_processor(dialect)
            routed = (process(False) if process is not None else False,)
        values_of = operator.itemgetter(*columns)
        if len(columns) == 1:  # itemgetter of one name gives the value, not a tuple
            values_of = lambda row, name=columns[0]: (row[name],)  # noqa: E731
        shape = (values_of, processed, routed, {})
        self._shapes[columns, self.defer_routing] = shape
        return shape

    def _render(self, columns: tuple[str, ...], size: int) -> str:
        names = (*columns, "routed") if self.defer_routing else columns
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        one = "(" + ", ".join([mark] * len(names)) + ")"
        return (
            f"INSERT INTO {self.table.name} ({', '.join(names)}) VALUES "
            + ", ".join([one] * size)
            + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key"
        )

    def commit_rows(self, rows: list[dict]) -> list[tuple[int, int | None] | None]:
        """Insert `rows` in one transaction: for each, (id, task_id), or None when its
        idempotency key was already stored. Raises the store's exception, nothing stored.

        With `defer_routing`, task_id is None and the stored rows join `unrouted`."""
        sql, params = self._insert_sql(rows)
        with self._writer_turn(), self._transaction() as conn:
            ids = {key: id_ for id_, key in run_driver(conn, sql, params)}
            # The first row with a key in a batch is the one stored: a replay in the same
            # batch must not reach the hook (it would be counted and routed twice), and is
            # answered as a replay (None). pop() leaves the key to no later row.
            inserted: list[dict] = []
            owners: list[dict | None] = []
            for row in rows:
                id_ = ids.pop(row["idempotency_key"], None)
                if id_ is None:
                    owners.append(None)
                else:
                    stored = {**row, "id": id_}
                    inserted.append(stored)
                    owners.append(stored)
            hook = None if self.defer_routing else self.on_batch
            tasks = hook(conn, inserted) if (hook and inserted) else {}
        if self.defer_routing:
            with self._mutex:
                self.unrouted.extend(inserted)
            return [None if row is None else (row["id"], None) for row in owners]
        return [
            None if row is None else (row["id"], tasks.get(row["idempotency_key"]))
            for row in owners
        ]

    def route_unrouted(self, limit: int = 1024, conn: Connection | None = None) -> int:
        """Route up to `limit` of the rows committed with `routed` false, in one
        transaction (on `conn`, if given, rather than the committer's own); how many were
        taken. Raises the store's exception: the rows are then no longer held here, and
        stay in the store for `route_leftovers()`."""
        # Taken under the lock: a routing thread may take while the commits append.
        with self._mutex:
            batch = self.unrouted[:limit]
            del self.unrouted[:limit]
        if batch:
            with self._writer_turn(), self._transaction(conn) as tx:
                self._route_in(tx, batch)
        return len(batch)

    def route_leftovers(
        self, limit: int = 256, conn: Connection | None = None, *, batches: int | None = None
    ) -> int | None:
        """Route the rows stored with `routed` false that nobody routed (a writer process
        stopped first, or their routing failed), `limit` in a transaction: all of them, or
        `batches` transactions' worth at most; how many, or None when it failed (logged:
        they wait for the next look). Fewer than `limit * batches` means none is left."""
        routed = 0
        query = select(self.table).where(self.table.c.routed == false())
        query = query.order_by(self.table.c.id).limit(limit)
        try:
            for _ in itertools.repeat(None) if batches is None else range(batches):
                with self._writer_turn(), self._transaction(conn) as tx:
                    rows = [dict(row._mapping) for row in tx.execute(query)]
                    if rows:
                        self._route_in(tx, rows)
                routed += len(rows)
                if len(rows) < limit:
                    break
        except Exception:
            log.exception("Routing the submissions left unrouted failed; they wait")
            return None
        if routed:
            log.info("Routed %d submission(s) acknowledged but not routed before", routed)
        return routed

    def _route_in(self, conn: Connection, rows: list[dict]) -> None:
        mine = claim(conn, self.table, [row["id"] for row in rows])
        rows = [row for row in rows if row["id"] in mine]
        if rows and self.on_batch:
            self.on_batch(conn, rows)

    def hold_connection(self) -> None:
        """Keep one connection for every batch (for a single-threaded caller, the writer
        process): a checkout and a reset per batch cost more than a small batch's insert."""
        self._held = self.engine.connect()
        if self.engine.dialect.name == "sqlite":
            # A statement that changes many rows inside a transaction keeps a statement
            # journal (to undo itself alone), written to a temporary file once past 64 KiB:
            # a routing batch's UPDATEs made, opened, wrote and unlinked a file each. Here
            # they stay in memory (a routing batch's pages at most: ROUTE_BATCH rows).
            self._held.exec_driver_sql("PRAGMA temp_store=MEMORY")
            self._held.commit()

    def held_connection(self) -> Connection:
        if self._held is None:
            raise RuntimeError("hold_connection() first")
        return self._held

    @contextlib.contextmanager
    def _transaction(self, conn: Connection | None = None) -> Iterator[Connection]:
        if conn is not None:
            with conn.begin():
                yield conn
            return
        if self._held is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._held.begin():
            yield self._held

    def _commit(self, batch: list[_Slot]) -> None:
        try:
            outcomes = self.commit_rows([slot.row for slot in batch])
        except BaseException as exc:  # the store's error reaches every waiting request
            for slot in batch:
                slot.error = exc
            return
        for slot, outcome in zip(batch, outcomes, strict=True):
            slot.outcome = outcome


def run_driver(conn: Connection, sql: str, params: list) -> list[tuple]:
    """Run `sql` on the driver's cursor of `conn` (in its transaction) and fetch every row.

    The group commit's INSERT needs none of SQLAlchemy's execution machinery (an execution
    context and a result object per statement): through `exec_driver_sql` it cost 10 us per
    row of a four-row batch, a third of the insert's CPU. Errors are SQLAlchemy's as before
    (the callers answer 503 on SQLAlchemyError), and a lost connection is invalidated as
    SQLAlchemy would, so that the next transaction reconnects."""
    dbapi_connection = conn.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    except conn.dialect.loaded_dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, dbapi_connection, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, params, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=lost,
            dialect=conn.dialect,
        ) from exc  # fmt: skip
    finally:
        cursor.close()


def padded(ids: list[int]) -> list[int]:
    """`ids` filled up to the next power of two with its last id repeated: an `IN` list
    of that many marks, compiled once per size (at most 11 sizes up to 1,024), matches the
    same rows. Compiling a statement for each batch's own size cost more than running it."""
    size = 1 << (len(ids) - 1).bit_length() if ids else 1
    return ids + [ids[-1]] * (size - len(ids)) if ids else ids


@functools.cache
def _claim(table: Table, size: int) -> Prepared:
    ids = [bindparam(f"id_{i}", type_=table.c.id.type) for i in range(size)]
    return Prepared(
        update(table)
        .where(table.c.id.in_(ids), table.c.routed == false())
        .values(routed=true())
        .returning(table.c.id)
    )


def claim(conn: Connection, table: Table, ids: list[int]) -> set[int]:
    """Mark the rows `ids` routed, in the caller's transaction; those it marked (the others
    were routed by someone else). The caller routes them in the same transaction."""
    if not ids:
        return set()
    ids = padded(ids)
    params = {f"id_{i}": id_ for i, id_ in enumerate(ids)}
    return {id_ for (id_,) in _claim(table, len(ids)).execute(conn, params)}


def _sqlite_lock_path(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return f"{database}.writer-lock"
