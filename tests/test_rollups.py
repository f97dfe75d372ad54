"""The daily rating counts reports read (migration 0011) on both stores: kept by the intake
exactly equal to a count of the stored submissions, after random batches, replays and amends,
filled by the migration from what was stored before, and read by the helpfulness report to
the same answer as a scan of the submissions, for periods that cut days anywhere."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from feedback_api.review import reports, rollups
from feedback_api.store import make_engine, upgrade
from feedback_api.store.models import Feedback, Task
from feedback_api.store.writer import GroupCommitter
from tests.review_fixtures import send

feedback = Feedback.__table__
PAGES = ("reference/api/", "quickstart/", "", "guides/install/")
VERSIONS = ("0.1", "0.2")


def submission(rng: random.Random, at: datetime) -> dict:
    """A row as the ingest endpoint hands it to the writer."""
    comment = rng.choice([None, None, "Step 3 fails"])
    return {
        "page": rng.choice(PAGES), "version": rng.choice(VERSIONS), "rating": rng.randrange(2),
        "comment": comment, "reasons": [], "selection": None, "anchor": None, "email": None,
        "notify": False, "locale": None, "client_hash": f"reader-{rng.randrange(9)}",
        "amend_token_hash": None, "idempotency_key": uuid.uuid4().hex, "request_hash": "0" * 64,
        "created_at": at, "amended_at": None,
    }  # fmt: skip


def counted(conn, group: str) -> dict[tuple, tuple[int, int]]:
    """The rollup of `group` (page or team), as {(day, version, name): (ratings, helpful)}."""
    table = rollups.by_page if group == "page" else rollups.by_team
    return {
        (r.day, r.version, r._mapping[group]): (r.ratings, r.helpful)
        for r in conn.execute(select(table))
    }


def scanned(conn, team_of) -> tuple[dict, dict]:
    """The same two counts from every stored submission."""
    pages: dict[tuple, list[int]] = {}
    teams: dict[tuple, list[int]] = {}
    for page, version, rating, at in conn.execute(
        select(feedback.c.page, feedback.c.version, feedback.c.rating, feedback.c.created_at)
    ):
        day = rollups.utc_day(at)
        for target, name in ((pages, page), (teams, team_of(version, page))):
            slot = target.setdefault((day, version, name), [0, 0])
            slot[0] += 1
            slot[1] += rating
    as_tuples = lambda d: {k: tuple(v) for k, v in d.items()}  # noqa: E731
    return as_tuples(pages), as_tuples(teams)


def expected_helpfulness(rows, period, group_by, team_of):
    """What the report must answer, from the submissions alone (the report before 0011)."""
    split = period.since + (period.until - period.since) / 2
    halves: dict[str, list[list[int]]] = {}
    for page, version, rating, at in rows:
        if not period.since <= at < period.until:
            continue
        name = {
            "page": page,
            "version": version,
            "team": team_of(version, page),
            "day": at.astimezone(UTC).strftime("%Y-%m-%d"),
            "month": at.astimezone(UTC).strftime("%Y-%m"),
        }[group_by]
        slot = halves.setdefault(name, [[0, 0], [0, 0]])[at >= split]
        slot[0] += 1
        slot[1] += rating
    share = lambda h, n: round(h / n, 4) if n else None  # noqa: E731
    by_time = group_by in ("day", "month")
    want = {}
    for name, ((c1, h1), (c2, h2)) in halves.items():
        s1, s2 = share(h1, c1), share(h2, c2)
        want[name] = {
            group_by: name, "ratings": c1 + c2, "helpful": h1 + h2,
            "helpful_share": share(h1 + h2, c1 + c2),
            "first_half_share": None if by_time else s1,
            "second_half_share": None if by_time else s2,
            "trend": None if by_time or None in (s1, s2) else round(s2 - s1, 4),
        }  # fmt: skip
    return want


def test_counts_equal_a_scan_and_the_report_equals_the_scan(app, client):
    rng = random.Random(11)
    now = datetime.now(UTC)
    # A committer of its own, as the writer process has, with the app's intake hook.
    committer = GroupCommitter(app.extensions["store"].engine, feedback)
    committer.on_batch = app.extensions["group_commit"].on_batch
    team_of = app.extensions["review"].team_of
    for _ in range(12):  # batches of the writer, back-dated across 40 days
        rows = [submission(rng, now - timedelta(hours=rng.uniform(0, 40 * 24))) for _ in range(9)]
        rows.append(dict(rows[0]))  # a replay in the same batch: stored once, counted once
        committer.commit_rows(rows)
    committer.commit_rows([dict(rows[1])])  # a replay in a later batch: not counted again
    for rating in (1, 0):  # through the endpoint, then amended (ratings do not change)
        created = send(client, rating=rating, page="quickstart/", version="0.1")
        response = client.patch(
            f"/api/v1/feedback/{created['id']}",
            json={"comment": "The example is wrong."},
            headers={"Authorization": f"Bearer {created['amend_token']}"},
        )
        assert response.status_code == 200, response.json

    with app.extensions["store"].engine.connect() as conn:
        pages, teams = scanned(conn, team_of)
        assert counted(conn, "page") == pages
        assert counted(conn, "team") == teams
        assert sum(n for n, _ in pages.values()) == 12 * 9 + 2
        stored = conn.execute(
            select(feedback.c.page, feedback.c.version, feedback.c.rating, feedback.c.created_at)
        ).all()
        # Periods that start, split and end mid-day, on midnights, or inside one day.
        midnight = datetime.combine(now.date(), datetime.min.time(), UTC)
        periods = [
            reports.Period.of(None, None),
            reports.Period(midnight - timedelta(days=20), midnight),
            reports.Period(midnight - timedelta(days=7), midnight - timedelta(days=1)),
            reports.Period(now - timedelta(hours=5), now + timedelta(minutes=1)),
        ]
        periods += [
            reports.Period(start, start + timedelta(hours=rng.uniform(1, 30 * 24)))
            for start in (now - timedelta(hours=rng.uniform(0, 40 * 24)) for _ in range(6))
        ]
        for period in periods:
            for group_by in reports.HELPFULNESS_GROUPS:
                for version in (None, "0.2"):
                    found = {
                        row[group_by]: row
                        for row in reports.helpfulness(conn, period, group_by, team_of, version)
                    }
                    want = expected_helpfulness(
                        [r for r in stored if version in (None, r.version)],
                        period,
                        group_by,
                        team_of,
                    )
                    assert found == want, (period, group_by, version)


@pytest.fixture(params=["sqlite", "postgres"])
def url_at_0010(request, tmp_path) -> str:
    """A store at the revision before the daily counts existed."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_server").create_database(f"t_{uuid.uuid4().hex[:12]}")
    upgrade(url, "0010")
    return url


def test_the_migration_fills_the_counts_from_stored_feedback(url_at_0010, monkeypatch):
    monkeypatch.setenv("TIDEWAY_DEFAULT_TEAM", "writers")
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    at = lambda hours: late + timedelta(hours=hours)  # noqa: E731
    rows = [
        ("quickstart/", "0.1", 1, at(0)),
        ("quickstart/", "0.1", 0, at(0.25)),
        ("quickstart/", "0.1", 1, at(1)),  # the next UTC day
        ("reference/api/", "0.1", 0, at(0)),
        ("reference/api/", "0.2", 1, at(0)),
    ]
    task = {
        "page": "quickstart/", "version": "0.1", "state": "new", "category": "problem",
        "priority": "normal", "priority_rule": "r", "team": "platform-team", "tier": 1,
        "feedback_count": 2, "reader_count": 1, "created_at": late, "updated_at": late,
        "first_response_due": late, "first_response_warn_at": late, "resolution_due": late,
        "resolution_warn_at": late, "due_at": late, "reopened_count": 0, "breached": False,
    }  # fmt: skip
    engine = make_engine(url_at_0010)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Task.__table__), [task])
            conn.execute(
                insert(feedback),
                [
                    {"page": p, "version": v, "rating": r, "reasons": [], "notify": False,
                     "created_at": t, "idempotency_key": uuid.uuid4().hex,
                     "request_hash": "0" * 64}
                    for p, v, r, t in rows
                ],
            )  # fmt: skip
        upgrade(url_at_0010)
        with engine.connect() as conn:
            pages, teams = counted(conn, "page"), counted(conn, "team")
            assert conn.execute(select(func.count()).select_from(feedback)).scalar() == 5
    finally:
        engine.dispose()
    day, next_day = late.date(), late.date() + timedelta(days=1)
    assert pages == {
        (day, "0.1", "quickstart/"): (2, 1),
        (next_day, "0.1", "quickstart/"): (1, 1),
        (day, "0.1", "reference/api/"): (1, 0),
        (day, "0.2", "reference/api/"): (1, 1),
    }
    # The team of the page's task where it had one, the default team where it had none.
    assert teams == {
        (day, "0.1", "platform-team"): (2, 1),
        (next_day, "0.1", "platform-team"): (1, 1),
        (day, "0.1", "writers"): (1, 0),
        (day, "0.2", "writers"): (1, 1),
    }
