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
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator

from sqlalchemy import Connection, Engine, Table

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
        self._columns: tuple[str, ...] | None = None
        self._processors: list = []
        self._sql_by_size: dict[int, str] = {}
        self._held: Connection | None = None

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
        if lead or slot.lead:
            self._lead(slot)
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

    def _insert_sql(self, rows: list[dict]) -> tuple[str, tuple]:
        """One multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING, and its parameters.

        Rendered once per batch size and bound with SQLAlchemy's own type processors (so
        stored values are exactly what the ORM writes and reads): the ORM's insertmanyvalues
        path cost more CPU per row than the insert itself.
        """
        if self._columns is None:
            dialect = self.engine.dialect
            self._columns = tuple(rows[0])
            self._processors = [
                self.table.c[name].type._cached_bind_processor(dialect) for name in self._columns
            ]
        if tuple(rows[0]) != self._columns:
            raise ValueError("every row must have the same columns, in the same order")
        size = len(rows)
        sql = self._sql_by_size.get(size)
        if sql is None:
            mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
            one = "(" + ", ".join([mark] * len(self._columns)) + ")"
            sql = (
                f"INSERT INTO {self.table.name} ({', '.join(self._columns)}) VALUES "
                + ", ".join([one] * size)
                + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key"
            )
            self._sql_by_size[size] = sql
        params = []
        for row in rows:
            for name, process in zip(self._columns, self._processors, strict=True):
                value = row[name]
                params.append(process(value) if process is not None else value)
        return sql, tuple(params)

    def commit_rows(self, rows: list[dict]) -> list[tuple[int, int | None] | None]:
        """Insert `rows` in one transaction: for each, (id, task_id), or None when its
        idempotency key was already stored. Raises the store's exception, nothing stored."""
        sql, params = self._insert_sql(rows)
        with self._writer_turn(), self._transaction() as conn:
            result = conn.exec_driver_sql(sql, params)
            ids = {key: id_ for id_, key in result}
            # The first row with a key in a batch is the one stored: a replay in the same
            # batch must not reach the hook (it would be counted and routed twice).
            inserted, seen = [], set()
            for row in rows:
                key = row["idempotency_key"]
                if key in ids and key not in seen:
                    seen.add(key)
                    inserted.append({**row, "id": ids[key]})
            tasks = self.on_batch(conn, inserted) if (self.on_batch and inserted) else {}
        outcomes: list[tuple[int, int | None] | None] = []
        owners: set[str] = set()
        for row in rows:
            key = row["idempotency_key"]
            if key in ids and key not in owners:
                owners.add(key)  # the first row with a key in a batch is the one stored
                outcomes.append((ids[key], tasks.get(key)))
            else:
                outcomes.append(None)
        return outcomes

    def hold_connection(self) -> None:
        """Keep one connection for every batch (for a single-threaded caller, the writer
        process): a checkout and a reset per batch cost more than a small batch's insert."""
        self._held = self.engine.connect()

    def held_connection(self) -> Connection:
        if self._held is None:
            raise RuntimeError("hold_connection() first")
        return self._held

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
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


def _sqlite_lock_path(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return f"{database}.writer-lock"
