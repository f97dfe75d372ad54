"""Group commit: submissions that arrive together in one process share one transaction.

An acknowledged submission must survive power loss, so every commit is fsynced (SQLite:
WAL + synchronous=FULL; PostgreSQL: a committed transaction). One fsync per request caps
throughput at the disk's flush rate; here request threads hand their rows to one writer
thread, which inserts everything queued in one statement and one commit, then wakes each
request. Nothing is acknowledged before its commit returns.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

# Called inside the batch's transaction with the rows it inserted (each with its new "id");
# returns {idempotency_key: task_id}. The review-task router plugs in here.
BatchHook = Callable[[Connection, list[dict]], dict[str, int | None]]


class GroupCommitter:
    def __init__(self, engine: Engine, table: Table, *, max_batch: int = 128):
        self.engine = engine
        self.table = table
        self.max_batch = max_batch
        self.on_batch: BatchHook | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        # Built once, so it compiles once; executed with a list of rows, SQLAlchemy sends one
        # multi-row INSERT ... RETURNING ("insertmanyvalues"). Rows whose key exists return
        # nothing, and their requests are answered as replays or reuses.
        self._lock_path = _sqlite_lock_path(engine)
        self._lock_fd: int | None = None
        self._statement = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.id, table.c.idempotency_key)
        )

    def insert(self, row: dict, timeout: float = 10.0) -> tuple[int, int | None] | None:
        """Insert `row`; return (id, task_id), or None when its idempotency key exists.

        Raises the store's exception (or TimeoutError) when the commit did not happen.
        """
        self._ensure_thread()
        future: Future = Future()
        self._queue.put((row, future))
        return future.result(timeout)

    def _ensure_thread(self) -> None:
        # Started lazily, and again in a forked child: threads do not survive fork().
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                self._lock_fd = None  # a descriptor inherited through fork shares the lock
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    @contextlib.contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """On SQLite, take turns with the other processes through a kernel file lock.

        SQLite's own busy handler sleeps in steps of milliseconds when another process
        writes, which ruins latency under load; flock() wakes the next writer at once.
        """
        if self._lock_path is None:
            yield
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _commit(self, batch: list[tuple[dict, Future]]) -> None:
        try:
            with self._writer_turn(), self.engine.begin() as conn:
                result = conn.execute(self._statement, [row for row, _ in batch])
                ids = {key: id_ for id_, key in result}
                inserted = []
                for row, _ in batch:
                    if row["idempotency_key"] in ids:
                        inserted.append({**row, "id": ids[row["idempotency_key"]]})
                tasks = self.on_batch(conn, inserted) if (self.on_batch and inserted) else {}
        except BaseException as exc:  # the store's error reaches every waiting request
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        owners: set[str] = set()
        for row, future in batch:
            key = row["idempotency_key"]
            if key in ids and key not in owners:
                owners.add(key)  # the first row with a key in a batch is the one stored
                future.set_result((ids[key], tasks.get(key)))
            else:
                future.set_result(None)


def _sqlite_lock_path(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return f"{database}.writer-lock"
