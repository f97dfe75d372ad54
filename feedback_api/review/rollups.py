"""Daily rating counts: written by the intake with the submissions, read by the reports.

`ratings_by_page` and `ratings_by_team` (migration 0011) count, per UTC day and version,
the ratings and the helpful ones of each page and of each team. The intake hook adds a
batch's ratings in the transaction that routes it, so the counts are exactly the routed
submissions at every commit (the writer process routes a submission within a quarter of a
second of storing it). A rating is never changed after it is stored (an amend adds
details), and submissions are not deleted, so adding is all the upkeep there is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from feedback_api.store.models import RatingsByPage, RatingsByTeam
from feedback_api.store.prepared import Prepared

by_page = RatingsByPage.__table__
by_team = RatingsByTeam.__table__


def _add(dialect_insert, table, key: str) -> Prepared:
    statement = dialect_insert(table)
    return Prepared(
        statement.on_conflict_do_update(
            index_elements=[table.c.day, table.c.version, table.c[key]],
            set_={
                "ratings": table.c.ratings + statement.excluded.ratings,
                "helpful": table.c.helpful + statement.excluded.helpful,
            },
        )
    )


_ADD = {
    (name, key): _add(dialect_insert, table, key)
    for name, dialect_insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
    for table, key in ((by_page, "page"), (by_team, "team"))
}


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def record(conn: Connection, rows: Iterable[dict], team_of: Callable[[str, str], str]) -> None:
    """Add the ratings of `rows` (just inserted) to the day counts."""
    pages: dict[tuple[date, str, str], list[int]] = {}
    for row in rows:
        counts = pages.setdefault((utc_day(row["created_at"]), row["version"], row["page"]), [0, 0])
        counts[0] += 1
        counts[1] += row["rating"]
    teams: dict[tuple[date, str, str], list[int]] = {}
    for (day, version, page), (ratings, helpful) in pages.items():
        counts = teams.setdefault((day, version, team_of(version, page)), [0, 0])
        counts[0] += ratings
        counts[1] += helpful
    dialect = conn.dialect.name
    # Keys in one order in every batch: two writers take their row locks in the same order.
    for key, counted in (("page", pages), ("team", teams)):
        params = [
            {"day": day, "version": version, key: name, "ratings": n, "helpful": h}
            for (day, version, name), (n, h) in sorted(counted.items())
        ]
        _ADD[dialect, key].execute(conn, params)
