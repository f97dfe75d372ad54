"""Distinct readers of a page within a window, from one row per reader (`page_readers`).

The priority rules ask whether at least N readers reported a page of a version in the last
H hours. Each reader's latest submission that asked for work is kept in `page_readers`,
written in the batch that stores it, and a count stops at the largest N the rules ask for:
its cost grows with neither the page's submissions nor its readers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Integer, bindparam, delete, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from feedback_api.store.models import PageReader
from feedback_api.store.prepared import Prepared

readers = PageReader.__table__


def _upsert(dialect_insert) -> Prepared:
    statement = dialect_insert(readers)
    later = statement.excluded.last_at
    # Only forward: an amended submission arrives with its own, earlier time.
    return Prepared(
        statement.on_conflict_do_update(
            index_elements=[readers.c.page, readers.c.version, readers.c.client_hash],
            set_={"last_at": later},
            where=readers.c.last_at < later,
        )
    )


_UPSERT = {"sqlite": _upsert(sqlite.insert), "postgresql": _upsert(postgresql.insert)}
_WITHIN = (
    readers.c.page == bindparam("page"),
    readers.c.version == bindparam("version"),
    readers.c.last_at >= bindparam("since"),
)
_COUNT = select(func.count()).select_from(readers).where(*_WITHIN)
_COUNT_UP_TO = Prepared(
    select(func.count()).select_from(
        select(literal_column("1"))
        .where(*_WITHIN)
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
)
_PRUNE = delete(readers).where(readers.c.last_at < bindparam("before"))


def record(conn: Connection, page: str, version: str, rows: Iterable[dict]) -> None:
    """Note the readers of `rows` (feedback on `page` of `version` that asks for work)."""
    latest: dict[str, datetime] = {}
    for row in rows:
        client, at = row.get("client_hash"), row["created_at"]
        if client is not None and (client not in latest or at > latest[client]):
            latest[client] = at
    if latest:
        # In one order in every batch, so two writers never wait for each other's rows.
        _UPSERT[conn.dialect.name].execute(
            conn,
            [
                {"page": page, "version": version, "client_hash": client, "last_at": at}
                for client, at in sorted(latest.items())
            ],
        )


def count_within(
    conn: Connection, page: str, version: str, limits: dict[int, int | None], now: datetime
) -> dict[int, int]:
    """{window hours: distinct readers in the window, counted up to its limit (None: all)}."""
    counts = {}
    for window, limit in limits.items():
        params = {"page": page, "version": version, "since": now - timedelta(hours=window)}
        if limit is None:
            counts[window] = conn.execute(_COUNT, params).scalar_one()
        else:
            params["limit"] = limit
            counts[window] = _COUNT_UP_TO.execute(conn, params).scalar_one()
    return counts


def prune(conn: Connection, before: datetime) -> int:
    """Forget readers whose latest feedback that asked for work is older than `before`."""
    return conn.execute(_PRUNE, {"before": before}).rowcount
