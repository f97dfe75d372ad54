"""The one place that opens the database: engine set-up, sessions, migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 2})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip per transaction. After a database restart the
    # first transaction on a stale connection fails (503, Retry-After) and SQLAlchemy
    # then discards the whole pool, so the next one reconnects.
    return create_engine(
        url,
        pool_size=5,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
    )


# The store holds reviewers' password hashes and readers' addresses: owner-only.
PRIVATE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _create_private(path: Path) -> None:
    """Create the SQLite file readable and writable by its owner only, before SQLite does
    (which would use 0644 less the umask). SQLite gives its -wal and -shm the file's mode."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    except OSError:
        pass  # it exists (make_private's job), or SQLite reports the problem on first use


def make_private(url: str) -> list[Path]:
    """Take group and other access away from the SQLite file of `url` and its -wal, -shm
    and -journal (a store made by an older version); return the files changed."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return []
    changed = []
    for suffix in SQLITE_COMPANIONS:
        path = Path(parsed.database + suffix)
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(PRIVATE_MODE)
                changed.append(path)
        except OSError:
            continue  # absent, or not ours to change (the deploy check names it)
    return changed


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL on every
    # commit, so an acknowledged submission survives power loss, not only a crash.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """Owns the engine and hands out transactional sessions."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creating a SQLite file if needed, readable
    by its owner only; an existing one is made so)."""
    make_private(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
    make_private(url)  # the -wal and -shm SQLite made meanwhile, should any remain
