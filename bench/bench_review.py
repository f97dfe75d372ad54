"""Reviewer queue and reports on a big store: 1,000,000 submissions, 10,000 open tasks.

Seeds a fresh SQLite file (or the PostgreSQL database given with --url) with bulk inserts,
then times server-side handling (the Flask app in process: token check, query, JSON) of
the queue listing and the main reports, against a baseline taken in the same run (an
authenticated request that runs no query beyond the token check). Target: <= 100 ms each.

    .venv/bin/python bench/bench_review.py [--postgres | --url postgresql+psycopg://...]
        [--rounds 20] [--keep var/bench-review.sqlite3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from feedback_api import create_app  # noqa: E402
from feedback_api.review.accounts import create_token, create_user  # noqa: E402
from feedback_api.review.core.policy import PRIORITIES  # noqa: E402
from feedback_api.review.core.triage import OPEN_STATES  # noqa: E402
from feedback_api.store import upgrade  # noqa: E402
from feedback_api.store.models import Task  # noqa: E402

SUBMISSIONS = 1_000_000
OPEN_TASKS = 10_000
VERSIONS = ("0.1", "0.2", "0.3", "0.4")
DAYS = 365
CHUNK = 50_000


def pages_of_site() -> list[str]:
    return [f"section-{i // 50}/page-{i}/" for i in range(OPEN_TASKS // len(VERSIONS))]


def write_site(site_dir: Path) -> None:
    """versions.json and page manifests, so routing reads owners as it does in production."""
    import json

    site_dir.mkdir(parents=True, exist_ok=True)
    versions = [{"version": v, "title": v, "aliases": ["latest"] if v == VERSIONS[-1] else []}
                for v in reversed(VERSIONS)]  # fmt: skip
    (site_dir / "versions.json").write_text(json.dumps(versions))
    for version in VERSIONS:
        pages = [{"url": url, "src": f"{url.rstrip('/')}.md", "title": url,
                  "owner": f"team-{i % 5}"} for i, url in enumerate(pages_of_site())]  # fmt: skip
        (site_dir / version).mkdir(exist_ok=True)
        (site_dir / version / "feedback-manifest.json").write_text(
            json.dumps({"schema": 1, "version": version, "pages": pages})
        )


def seed(app, rng: random.Random) -> None:
    engine = app.extensions["store"].engine
    now = datetime.now(UTC)
    pages = pages_of_site()
    started = time.perf_counter()
    with app.extensions["store"].transaction() as session:
        users = [create_user(session, f"r{i}", f"r{i}@example.com", team=f"team-{i % 5}",
                             tier=1 + i % 3) for i in range(30)]  # fmt: skip
        user_ids = [u.id for u in users]
    task_rows = []
    for i in range(OPEN_TASKS):
        page, version = pages[i % len(pages)], VERSIONS[i // len(pages)]
        created = now - timedelta(days=rng.random() * 60)
        due = created + timedelta(hours=rng.choice((0.25, 1, 4, 24, 48)))
        task_rows.append({
            "page": page, "version": version, "open_key": f"{version}\n{page}",
            "state": rng.choice(OPEN_STATES), "category": "problem",
            "priority": rng.choice(PRIORITIES), "priority_rule": "bench", "team": f"team-{i % 5}",
            "owner_id": rng.choice(user_ids), "tier": 1, "feedback_count": 0, "reader_count": 0,
            "created_at": created, "updated_at": created, "first_response_due": due,
            "first_response_warn_at": due, "resolution_due": due + timedelta(days=3),
            "resolution_warn_at": due + timedelta(days=2), "due_at": due,
            "reopened_count": 0, "breached": due < now,
        })  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Task.__table__), task_rows)
    with engine.begin() as conn:
        task_ids = [r[0] for r in conn.execute(text("SELECT id FROM tasks ORDER BY id"))]
    # Straight to the driver (executemany of tuples): SQLAlchemy's per-row bind processing
    # would make seeding a million rows take ten minutes instead of one.
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    columns = ("page", "version", "rating", "reasons", "notify", "created_at",
               "idempotency_key", "request_hash", "client_hash", "task_id")  # fmt: skip
    statement = (f"INSERT INTO feedback ({', '.join(columns)}) "
                 f"VALUES ({', '.join([mark] * len(columns))})")  # fmt: skip
    by_page: dict[tuple, list[int]] = {}  # the daily counts the intake keeps (rollups.py)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if sqlite:
            cursor.execute("PRAGMA synchronous=OFF")
        for start in range(0, SUBMISSIONS, CHUNK):
            rows = []
            for _ in range(min(CHUNK, SUBMISSIONS - start)):
                k = rng.randrange(OPEN_TASKS)
                rating = 1 if rng.random() < 0.7 else 0
                at = now - timedelta(seconds=rng.random() * DAYS * 86400)
                rows.append((
                    pages[k % len(pages)], VERSIONS[k // len(pages)], rating, "[]", False,
                    at.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else at,
                    uuid.uuid4().hex, "0" * 64, f"{rng.randrange(200_000):032x}",
                    task_ids[k] if rating == 0 else None,
                ))  # fmt: skip
            cursor.executemany(statement, rows)
            raw.commit()
            for row in rows:
                day = (row[5] if sqlite else row[5].strftime("%Y-%m-%d"))[:10]
                counts = by_page.setdefault((day, row[1], row[0]), [0, 0])
                counts[0] += 1
                counts[1] += row[2]
            print(f"\r  seeded {start + len(rows):,} submissions", end="", flush=True)
    finally:
        raw.close()
    review = app.extensions["review"]
    by_team: dict[tuple, list[int]] = {}
    for (day, version, page), (n, helpful) in by_page.items():
        counts = by_team.setdefault((day, version, review.team_of(version, page)), [0, 0])
        counts[0] += n
        counts[1] += helpful
    with engine.begin() as conn:
        for table, counted in (("ratings_by_page", by_page), ("ratings_by_team", by_team)):
            key = "page" if table == "ratings_by_page" else "team"
            conn.execute(
                text(f"INSERT INTO {table} (day, version, {key}, ratings, helpful) "
                     "VALUES (:day, :version, :key, :ratings, :helpful)"),
                [{"day": day if sqlite else date.fromisoformat(day), "version": version,
                  "key": name, "ratings": n, "helpful": h}
                 for (day, version, name), (n, h) in counted.items()],
            )  # fmt: skip
    # As a maintained database would be: statistics, and on PostgreSQL a visibility map, so
    # the covering indexes are read without visiting the table.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE" if sqlite else "VACUUM ANALYZE"))
    print(f"\n  seeding took {time.perf_counter() - started:.0f} s", flush=True)


def timed(client, url: str, headers: dict, rounds: int) -> tuple[float, float]:
    client.get(url, headers=headers)  # warm
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.data[:200])
    return statistics.median(samples), max(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="a PostgreSQL database to use (emptied first by you)")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway PostgreSQL and use it"
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="a SQLite file to seed once and reuse")
    args = parser.parse_args(argv)
    if args.postgres:
        from tests import services

        with services.postgres_server() as server:
            args.url = server.create_database("bench_review")
            return run(args)
    return run(args)


def run(args) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_file = args.keep or Path(tmp) / "bench.sqlite3"
        seeded = args.keep is not None and args.keep.exists()
        url = args.url or f"sqlite:///{sqlite_file}"
        upgrade(url)
        write_site(Path(tmp) / "site")
        settings = {"database_url": url, "site_dir": Path(tmp) / "site", "secret_key": "b" * 40}
        app = create_app(settings)
        store = url.split(":")[0]
        if not seeded:
            print(f"Seeding {SUBMISSIONS:,} submissions and {OPEN_TASKS:,} open tasks ({store})")
            seed(app, random.Random(7))
        with app.extensions["store"].transaction() as session:
            from feedback_api.review.accounts import find_user

            token, _ = create_token(session, find_user(session, "r0"), "bench")
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        cases = [
            ("baseline: one task by id", "/api/v1/tasks/1"),
            ("queue: open, by due time, 50",
             "/api/v1/tasks?state=new,triaged,in_progress&sort=due"),
            ("queue: one team, breached", "/api/v1/tasks?team=team-3&breached=true&sort=due"),
            ("queue: one owner, page 4", "/api/v1/tasks?owner=r7&sort=due&offset=150"),
            ("report: helpfulness by page, 30 days", "/api/v1/reports/helpfulness?group_by=page"),
            ("report: helpfulness by team, 30 days", "/api/v1/reports/helpfulness?group_by=team"),
            ("report: helpfulness by day, 30 days", "/api/v1/reports/helpfulness?group_by=day"),
            ("report: sla by team, 30 days", "/api/v1/reports/sla?group_by=team"),
            ("report: backlog", "/api/v1/reports/backlog"),
        ]  # fmt: skip
        print(f"\n{'request':44} {'median ms':>10} {'max ms':>8}  ratio to baseline")
        baseline = None
        for label, url_path in cases:
            median, worst = timed(client, url_path, headers, args.rounds)
            baseline = baseline or median
            verdict = "" if median <= 100 else "  OVER 100 ms"
            print(f"{label:44} {median:10.1f} {worst:8.1f}  {median / baseline:6.1f}x{verdict}")
        app.extensions["store"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
