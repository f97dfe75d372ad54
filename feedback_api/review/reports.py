"""Reports: helpfulness, whether fixes fixed, service levels, backlog; as rows and as CSV.

Each report is a function of a connection and its parameters that answers a list of plain
dicts; the reviewer API (review.py) and the dashboard shape them. Aggregation happens in SQL
where both stores can do it alike; medians and the team of a page (which comes from the
routing rules, not from a column) are computed here.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, and_, case, func, select, text

from feedback_api.store.models import Feedback, Task

from . import rollups
from .core.policy import PRIORITIES
from .core.triage import OPEN_STATES

feedback = Feedback.__table__
tasks = Task.__table__

HELPFULNESS_GROUPS = ("page", "version", "team", "day", "month")
SLA_GROUPS = ("team", "priority", "category", "version", "page", "month")
DEFAULT_PERIOD = timedelta(days=30)
# A share from fewer ratings than this says little; "did it fix it?" says so instead.
MIN_RATINGS = 5
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @classmethod
    def of(cls, since: datetime | None, until: datetime | None) -> Period:
        until = until or datetime.now(UTC)
        return cls(since or until - DEFAULT_PERIOD, until)


def _bucket(conn: Connection, column, unit: str):
    """A UTC day (`2026-11-24`) or month (`2026-11`) label, the same text on both stores."""
    if conn.dialect.name == "postgresql":
        fmt = "YYYY-MM-DD" if unit == "day" else "YYYY-MM"
        return func.to_char(func.timezone("UTC", column), fmt)
    return func.substr(column, 1, 10 if unit == "day" else 7)


def _share(helpful: int, count: int) -> float | None:
    return round(helpful / count, 4) if count else None


def helpfulness(
    conn: Connection,
    period: Period,
    group_by: str = "page",
    team_of: Callable[[str, str], str] | None = None,
    version: str | None = None,
) -> list[dict]:
    """Share of helpful ratings per group in the period, and its trend: the second half's
    share minus the first half's.

    Whole UTC days are read from the daily counts the intake keeps (`rollups.py`); only the
    parts of days at the period's ends and around its middle are read from the submissions.
    By team, whole days count each rating for the team its page had when it was rated, and
    the partial days for the page's team now (the two differ only after a page moves).
    """
    if group_by not in HELPFULNESS_GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(HELPFULNESS_GROUPS)}")
    split = period.since + (period.until - period.since) / 2
    plan = _read_plan(period, split)
    second: dict[str, list[int]] = {}
    first: dict[str, list[int]] = {}

    def add(target: dict[str, list[int]], name: str, n, h) -> None:
        if n:
            slot = target.setdefault(name, [0, 0])
            slot[0] += int(n)
            slot[1] += int(h or 0)

    teams: dict[tuple[str, str], str] = {}
    for start, end in plan.partial:
        for *key, count, helpful, first_count, first_helpful in _scan(
            conn, group_by, split, Period(start, end), version
        ):
            name = key[0]
            if group_by == "team" and team_of:
                name = teams.get((key[1], key[0])) or teams.setdefault(
                    (key[1], key[0]), team_of(key[1], key[0])
                )
            add(second, name, count, helpful)
            add(first, name, first_count, first_helpful)
    for name, count, helpful, first_count, first_helpful in _from_rollups(
        conn, group_by, plan, version
    ):
        add(second, name, count, helpful)
        add(first, name, first_count, first_helpful)

    rows = []
    by_time = group_by in ("day", "month")
    for key in sorted(set(first) | set(second)):
        (c1, h1), (c2, h2) = first.get(key, (0, 0)), second.get(key, (0, 0))
        share1, share2 = _share(h1, c1), _share(h2, c2)
        trend = None if by_time or None in (share1, share2) else round(share2 - share1, 4)
        rows.append(
            {
                group_by: key,
                "ratings": c1 + c2,
                "helpful": h1 + h2,
                "helpful_share": _share(h1 + h2, c1 + c2),
                "first_half_share": None if by_time else share1,
                "second_half_share": None if by_time else share2,
                "trend": trend,
            }
        )
    return rows


@dataclass(frozen=True)
class ReadPlan:
    """Where a period's ratings are read: whole days of each half from the daily counts
    (first day, day after the last), the rest from the submissions (time ranges)."""

    first_days: tuple[date, date] | None
    second_days: tuple[date, date] | None
    partial: list[tuple[datetime, datetime]]


def _read_plan(period: Period, split: datetime) -> ReadPlan:
    since, until = period.since.astimezone(UTC), period.until.astimezone(UTC)
    split = split.astimezone(UTC)
    halves: list[list[date]] = [[], []]
    partial: list[tuple[datetime, datetime]] = []
    midnight = datetime.combine(since.date(), time(), UTC)
    while midnight < until:
        following = midnight + timedelta(days=1)
        start, end = max(midnight, since), min(following, until)
        if start == midnight and end == following and not midnight < split < following:
            halves[midnight >= split].append(midnight.date())
        elif start < end:
            if partial and partial[-1][1] == start:
                start = partial.pop()[0]  # one range for adjacent partial days
            partial.append((start, end))
        midnight = following
    first_days, second_days = (
        (days[0], days[-1] + timedelta(days=1)) if days else None for days in halves
    )
    return ReadPlan(first_days, second_days, partial)


# By page from the page counts; every other grouping from the few rows of the team counts
# (a month is summed from its days below).
_ROLLUP_KEYS = {
    "page": rollups.by_page.c.page,
    "version": rollups.by_team.c.version,
    "team": rollups.by_team.c.team,
    "day": rollups.by_team.c.day,
    "month": rollups.by_team.c.day,
}


def _from_rollups(conn: Connection, group_by: str, plan: ReadPlan, version):
    """(name, ratings, helpful, first half's ratings, first half's helpful) per group, over
    the plan's whole days; in one range scan, for one sort of the rows."""
    if plan.first_days is None and plan.second_days is None:
        return
    table = rollups.by_page if group_by == "page" else rollups.by_team
    key = _ROLLUP_KEYS[group_by]
    first = plan.first_days or (plan.second_days[0], plan.second_days[0])
    second = plan.second_days or (first[1], first[1])
    current = table.c.day >= second[0]
    query = (
        select(
            key,
            func.sum(case((current, table.c.ratings), else_=0)),
            func.sum(case((current, table.c.helpful), else_=0)),
            func.sum(case((current, 0), else_=table.c.ratings)),
            func.sum(case((current, 0), else_=table.c.helpful)),
        )
        .where(table.c.day >= first[0], table.c.day < second[1])
        .group_by(key)
    )
    if first[1] < second[0]:  # the day the halves meet inside is read from the submissions
        query = query.where((table.c.day < first[1]) | (table.c.day >= second[0]))
    if version:
        query = query.where(table.c.version == version)
    for name, *counts in conn.execute(query):
        if group_by == "day":
            name = name.isoformat()
        elif group_by == "month":
            name = name.isoformat()[:7]
        yield name, *counts


def _scan(conn: Connection, group_by: str, split: datetime, period: Period, version):
    if conn.dialect.name == "sqlite":
        return _helpfulness_sqlite(conn, group_by, split, period, version)
    return conn.execute(_helpfulness_query(conn, group_by, split, period, version))


def _helpfulness_keys(conn: Connection, group_by: str) -> list:
    if group_by in ("day", "month"):
        return [_bucket(conn, feedback.c.created_at, group_by).label("k")]
    if group_by == "team":
        return [feedback.c.page, feedback.c.version]
    return [feedback.c[group_by]]


def _helpfulness_query(conn, group_by: str, split: datetime, period: Period, version):
    current = feedback.c.created_at >= split
    keys = _helpfulness_keys(conn, group_by)
    query = (
        select(
            *keys,
            func.sum(case((current, 1), else_=0)),
            func.sum(case((current, feedback.c.rating), else_=0)),
            func.sum(case((current, 0), else_=1)),
            func.sum(case((current, 0), else_=feedback.c.rating)),
        )
        .where(feedback.c.created_at >= period.since, feedback.c.created_at < period.until)
        .group_by(*keys)
    )
    return query.where(feedback.c.version == version) if version else query


_SQLITE_KEYS = {
    "page": "page",
    "version": "version",
    "team": "page, version",
    "day": "substr(created_at, 1, 10)",
    "month": "substr(created_at, 1, 7)",
}


def _sqlite_time(value: datetime) -> str:
    # How SQLAlchemy stores a UTC datetime in SQLite, so text comparison orders by time.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _helpfulness_sqlite(conn, group_by: str, split: datetime, period: Period, version):
    """The same query, naming the covering index: with ANALYZE statistics SQLite otherwise
    prefers a skip-scan of the (page, version, created_at) index, ten times slower."""
    keys = _SQLITE_KEYS[group_by]
    sql = (
        f"SELECT {keys}, "
        "sum(CASE WHEN created_at >= :split THEN 1 ELSE 0 END), "
        "sum(CASE WHEN created_at >= :split THEN rating ELSE 0 END), "
        "sum(CASE WHEN created_at >= :split THEN 0 ELSE 1 END), "
        "sum(CASE WHEN created_at >= :split THEN 0 ELSE rating END) "
        "FROM feedback INDEXED BY ix_feedback_created_rating "
        "WHERE created_at >= :since AND created_at < :until"
        + (" AND version = :version" if version else "")
        + f" GROUP BY {keys}"
    )
    params = {
        "since": _sqlite_time(period.since),
        "split": _sqlite_time(split),
        "until": _sqlite_time(period.until),
        "version": version,
    }
    return conn.execute(text(sql), params)


def fixes(conn: Connection, period: Period) -> list[dict]:
    """For each task resolved in the period: the page's helpfulness before and after the fix.

    Before: ratings of the page in the task's version up to the resolution. After: ratings of
    the page in the fixing version since the resolution.
    """
    resolved = conn.execute(
        select(
            tasks.c.id,
            tasks.c.page,
            tasks.c.version,
            tasks.c.fixed_in_version,
            tasks.c.resolved_at,
            tasks.c.team,
        )
        .where(tasks.c.resolved_at.is_not(None), tasks.c.fixed_in_version.is_not(None))
        .where(tasks.c.resolved_at >= period.since, tasks.c.resolved_at < period.until)
        .order_by(tasks.c.resolved_at)
    ).all()
    rows = []
    for task in resolved:
        before = _ratings(conn, task.page, task.version, feedback.c.created_at < task.resolved_at)
        after = _ratings(
            conn, task.page, task.fixed_in_version, feedback.c.created_at >= task.resolved_at
        )
        b_share, a_share = _share(before[1], before[0]), _share(after[1], after[0])
        if before[0] < MIN_RATINGS or after[0] < MIN_RATINGS:
            verdict = "not enough ratings yet"
        else:
            verdict = "better" if a_share > b_share else "not better"
        rows.append(
            {
                "task_id": task.id,
                "page": task.page,
                "team": task.team,
                "version": task.version,
                "fixed_in_version": task.fixed_in_version,
                "resolved_at": task.resolved_at,
                "before_ratings": before[0],
                "before_share": b_share,
                "after_ratings": after[0],
                "after_share": a_share,
                "change": round(a_share - b_share, 4) if None not in (a_share, b_share) else None,
                "verdict": verdict,
            }
        )
    return rows


def _ratings(conn: Connection, page: str, version: str, when) -> tuple[int, int]:
    count, helpful = conn.execute(
        select(func.count(), func.sum(feedback.c.rating)).where(
            feedback.c.page == page, feedback.c.version == version, when
        )
    ).one()
    return count, int(helpful or 0)


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def service_levels(conn: Connection, period: Period, group_by: str = "team") -> list[dict]:
    """The seed's response and resolution metrics for tasks opened in the period."""
    if group_by not in SLA_GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(SLA_GROUPS)}")
    key = _bucket(conn, tasks.c.created_at, "month") if group_by == "month" else tasks.c[group_by]
    query = select(
        key.label("k"),
        tasks.c.created_at,
        tasks.c.first_responded_at,
        tasks.c.first_response_due,
        tasks.c.resolved_at,
        tasks.c.reopened_count,
        tasks.c.breached,
        tasks.c.state,
    ).where(tasks.c.created_at >= period.since, tasks.c.created_at < period.until)
    groups: dict[str, list] = {}
    for row in conn.execute(query):
        groups.setdefault(row.k, []).append(row)
    out = []
    for name in sorted(groups):
        rows = groups[name]
        responses = [
            _minutes(r.first_responded_at - r.created_at) for r in rows if r.first_responded_at
        ]
        on_time = sum(
            1 for r in rows if r.first_responded_at and r.first_responded_at <= r.first_response_due
        )
        resolved = [r for r in rows if r.resolved_at]
        resolution_hours = [(r.resolved_at - r.created_at).total_seconds() / 3600 for r in resolved]
        out.append(
            {
                group_by: name,
                "tasks": len(rows),
                "responded": len(responses),
                "mean_first_response_minutes": _stat(statistics.fmean, responses),
                "median_first_response_minutes": _stat(statistics.median, responses),
                "on_time_response_rate": _share(on_time, len(responses)),
                "resolved": len(resolved),
                "resolution_rate": _share(len(resolved), len(rows)),
                "first_time_resolution_rate": _share(
                    sum(1 for r in resolved if r.reopened_count == 0), len(resolved)
                ),
                "mean_resolution_hours": _stat(statistics.fmean, resolution_hours),
                "breaches": sum(1 for r in rows if r.breached),
            }
        )
    return out


def _stat(function, values: list[float]) -> float | None:
    return round(function(values), 1) if values else None


def backlog(conn: Connection, now: datetime | None = None) -> list[dict]:
    """Open tasks by priority: how many, how many breached, how many overdue, the oldest."""
    now = now or datetime.now(UTC)
    query = (
        select(
            tasks.c.priority,
            func.count(),
            func.sum(case((tasks.c.breached.is_(True), 1), else_=0)),
            func.sum(case((tasks.c.due_at <= now, 1), else_=0)),
            func.min(tasks.c.created_at),
        )
        .where(tasks.c.state.in_(OPEN_STATES))
        .group_by(tasks.c.priority)
    )
    found = {row[0]: row for row in conn.execute(query)}
    rows = []
    for priority in PRIORITIES:
        _, count, breached, overdue, oldest = found.get(priority, (priority, 0, 0, 0, None))
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        rows.append(
            {
                "priority": priority,
                "open": count,
                "breached": int(breached or 0),
                "overdue": int(overdue or 0),
                "oldest_created_at": oldest,
            }
        )
    return rows


def breaches(conn: Connection, period: Period) -> list[dict]:
    """Tasks whose first response or resolution time passed unmet in the period."""
    in_period = lambda col: and_(col >= period.since, col < period.until)  # noqa: E731
    query = (
        select(
            tasks.c.id,
            tasks.c.page,
            tasks.c.version,
            tasks.c.team,
            tasks.c.priority,
            tasks.c.tier,
            tasks.c.state,
            tasks.c.response_breached_at,
            tasks.c.resolution_breached_at,
        )
        .where(in_period(tasks.c.response_breached_at) | in_period(tasks.c.resolution_breached_at))
        .order_by(tasks.c.id)
    )
    return [
        {
            "task_id": r.id,
            "page": r.page,
            "version": r.version,
            "team": r.team,
            "priority": r.priority,
            "tier": r.tier,
            "state": r.state,
            "response_breached_at": r.response_breached_at,
            "resolution_breached_at": r.resolution_breached_at,
        }
        for r in conn.execute(query)
    ]


def neutralise(value) -> str:
    """A CSV cell a spreadsheet will not run: text that starts like a formula gets a `'`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool | int | float):
        return str(value)
    text = str(value)
    # Spreadsheets skip leading blanks before deciding that a cell is a formula.
    return "'" + text if text.lstrip(" ").startswith(_FORMULA_START) else text


# The columns of each report after its group column, so an empty CSV still has its header.
COLUMNS = {
    "helpfulness": (
        "ratings",
        "helpful",
        "helpful_share",
        "first_half_share",
        "second_half_share",
        "trend",
    ),
    "fixes": (
        "task_id",
        "page",
        "team",
        "version",
        "fixed_in_version",
        "resolved_at",
        "before_ratings",
        "before_share",
        "after_ratings",
        "after_share",
        "change",
        "verdict",
    ),
    "sla": (
        "tasks",
        "responded",
        "mean_first_response_minutes",
        "median_first_response_minutes",
        "on_time_response_rate",
        "resolved",
        "resolution_rate",
        "first_time_resolution_rate",
        "mean_resolution_hours",
        "breaches",
    ),
    "backlog": ("priority", "open", "breached", "overdue", "oldest_created_at"),
    "breaches": (
        "task_id",
        "page",
        "version",
        "team",
        "priority",
        "tier",
        "state",
        "response_breached_at",
        "resolution_breached_at",
    ),
}


def header(report: str, group_by: str) -> list[str]:
    grouped = report in ("helpfulness", "sla")
    return [group_by, *COLUMNS[report]] if grouped else list(COLUMNS[report])


def to_csv(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows and not columns:
        return ""
    out = io.StringIO()
    # Every cell quoted: a separator or line break in a reader's text stays in its cell.
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns or list(rows[0]))
    for row in rows:
        writer.writerow([neutralise(v) for v in row.values()])
    return out.getvalue()
