"""SQLite's WAL checkpoints, moved off the writer process's commit path.

By default the connection whose commit takes the WAL past 1,000 pages copies the WAL back
into the database and fsyncs the database file before its commit returns. In the writer
process that connection is the one every submission waits on: each such commit held up a
whole batch of acknowledgements for the length of a checkpoint (tens to hundreds of ms on
a busy disk). Here the writer's connection never checkpoints (`wal_autocheckpoint=0`) and a
thread of the writer process does, on its own connection, in PASSIVE mode: it copies what
no reader still needs and never takes the write lock, so commits go on beside it.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

INTERVAL = 1.0  # seconds between checkpoints; the WAL holds about this much traffic


def checkpoint_in_background(
    engine: Engine, writer: Connection, interval: float = INTERVAL
) -> threading.Event | None:
    """Stop `writer` checkpointing and checkpoint from a thread; answer the thread's stop
    event (None when the store is not SQLite, which needs none of this)."""
    if engine.dialect.name != "sqlite":
        return None
    writer.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
    writer.commit()  # end the transaction SQLAlchemy began for the statement
    stop = threading.Event()
    threading.Thread(
        target=_checkpoint_loop, args=(engine, stop, interval), name="wal-checkpoint", daemon=True
    ).start()
    return stop


def _checkpoint_loop(engine: Engine, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # a failed checkpoint is retried next time; the WAL just grows
            log.warning("WAL checkpoint failed", exc_info=True)
