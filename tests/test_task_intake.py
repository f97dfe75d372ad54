"""The intake hook's reader counts on both stores: readers in a window from `page_readers`
(and its backfill by migration 0006), a task's readers across batches, and statements run
through the driver storing what SQLAlchemy stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text, update

from feedback_api.review.audit import log_event
from feedback_api.review.intake import attach_rows
from feedback_api.review.page_readers import readers as page_readers
from feedback_api.review.sweep import sweep
from feedback_api.store import make_engine, upgrade
from feedback_api.store.models import Feedback, Task, TaskEvent

feedback = Feedback.__table__
PAGE = "reference/api/"  # an ordinary page: five readers in 24 h make its task important


def submission(version: str, client: str | None, at: datetime, page: str = PAGE, **fields):
    """A row as the ingest endpoint hands it to the group committer."""
    return {
        "page": page, "version": version, "rating": 0, "comment": None, "reasons": [],
        "selection": None, "anchor": None, "email": None, "notify": False, "locale": None,
        "client_hash": client, "amend_token_hash": None, "idempotency_key": uuid.uuid4().hex,
        "request_hash": "0" * 64, "created_at": at, "amended_at": None, **fields,
    }  # fmt: skip


def commit_batch(app, rows: list[dict]) -> dict[str, int | None]:
    """Store `rows` in one transaction and run the hook on them, as one batch of the writer."""
    with app.extensions["store"].engine.begin() as conn:
        stored = []
        for row in rows:
            new_id = conn.execute(insert(feedback).values(row).returning(feedback.c.id))
            stored.append({**row, "id": new_id.scalar_one()})
        return attach_rows(app.extensions["review"].intake, conn, stored)


def load_task(app, task_id: int) -> Task:
    with app.extensions["store"].transaction() as session:
        task = session.get(Task, task_id)
        session.expunge(task)
    return task


def test_readers_count_across_batches_and_only_inside_the_window(app, published_site):
    now = datetime.now(UTC)
    version = published_site.current
    old = commit_batch(app, [submission(version, "reader-0", now - timedelta(hours=25))])
    task_id = old.popitem()[1]
    for n in range(1, 5):  # four readers inside the window; reader-0 is outside it
        commit_batch(app, [submission(version, f"reader-{n}", now - timedelta(minutes=n))])
    commit_batch(app, [submission(version, "reader-1", now)])  # the same reader again
    task = load_task(app, task_id)
    assert (task.priority, task.reader_count, task.feedback_count) == ("normal", 5, 6)

    commit_batch(app, [submission(version, "reader-5", now)])
    task = load_task(app, task_id)
    assert task.priority == "important"
    assert task.priority_rule == "important: 5 readers in 24 h"


def test_a_raise_past_the_count_limit_names_the_exact_count(app, published_site):
    now = datetime.now(UTC)
    version = published_site.current
    first = commit_batch(app, [submission(version, "reader-a", now)])
    task_id = first.popitem()[1]
    # Eight new readers in one batch: counting stops at the rules' largest threshold (5),
    # which raises the priority; the rule stored names all nine readers.
    commit_batch(app, [submission(version, f"reader-{n}", now) for n in range(8)])
    task = load_task(app, task_id)
    assert (task.priority, task.reader_count) == ("important", 9)
    assert task.priority_rule == "important: 9 readers in 24 h"
    # A batch whose count is still at the limit but raises nothing leaves the rule alone.
    commit_batch(app, [submission(version, "reader-z", now)])
    assert load_task(app, task_id).priority_rule == "important: 9 readers in 24 h"


def test_a_new_task_on_a_page_with_many_readers_names_the_exact_count(app, published_site):
    now = datetime.now(UTC)
    rows = [submission(published_site.current, f"reader-{n}", now) for n in range(7)]
    task_id = commit_batch(app, rows)[rows[0]["idempotency_key"]]
    task = load_task(app, task_id)
    assert (task.priority, task.priority_rule) == ("important", "important: 7 readers in 24 h")
    assert (task.reader_count, task.feedback_count) == (7, 7)


def test_a_task_counts_each_reader_once_across_batches(app, published_site):
    now = datetime.now(UTC)
    version = published_site.current
    first = commit_batch(app, [submission(version, c, now) for c in ("a", "b")])
    task_id = set(first.values()).pop()
    commit_batch(app, [submission(version, c, now) for c in ("a", "c", "c", None)])
    task = load_task(app, task_id)
    assert (task.feedback_count, task.reader_count) == (6, 3)


def test_a_batch_that_reopens_a_task_and_raises_it_times_it_from_the_reopening(app, published_site):
    now = datetime.now(UTC)
    version = published_site.current
    task_id = commit_batch(app, [submission(version, "reader-a", now)]).popitem()[1]
    month_ago = now - timedelta(days=30)
    tasks = Task.__table__
    with app.extensions["store"].engine.begin() as conn:  # resolved in this version long ago
        conn.execute(
            update(tasks)
            .where(tasks.c.id == task_id)
            .values(state="resolved", open_key=None, fixed_in_version=version, due_at=None,
                    resolved_at=month_ago, first_responded_at=month_ago,
                    resolution_due=month_ago)
        )  # fmt: skip
    # Five more readers' negative feedback reopens it and makes it important: its due times
    # count from the reopening, not from the month-old resolution due time.
    commit_batch(app, [submission(version, f"reader-{n}", now) for n in range(5)])
    task = load_task(app, task_id)
    assert (task.state, task.priority) == ("triaged", "important")
    assert task.resolution_due > now
    assert task.due_at == task.resolution_due


def test_the_sweep_forgets_readers_past_the_longest_window(app, published_site):
    now = datetime.now(UTC)
    version = published_site.current
    commit_batch(app, [submission(version, "early", now - timedelta(hours=30))])
    commit_batch(app, [submission(version, "recent", now - timedelta(hours=1))])
    engine = app.extensions["store"].engine
    sweep(engine, app.extensions["review"].policy, "http://docs.example/", now=now)
    with engine.connect() as conn:
        left = conn.execute(select(page_readers.c.client_hash)).scalars().all()
    assert left == ["recent"]


def test_a_datetime_bound_through_the_driver_is_stored_as_sqlalchemy_stores_it(app, published_site):
    at = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    task_id = commit_batch(app, [submission(published_site.current, "r", at)]).popitem()[1]
    with app.extensions["store"].engine.begin() as conn:
        log_event(conn, task_id, "note", reason="through the driver", at=at)
        conn.execute(insert(TaskEvent.__table__).values(task_id=task_id, at=at, kind="note"))
        stored = conn.execute(
            text("SELECT CAST(at AS TEXT) FROM task_events WHERE kind = 'note'")
        ).scalars()
        assert len(set(stored)) == 1


@pytest.fixture(params=["sqlite", "postgres"])
def url_at_0005(request, tmp_path) -> str:
    """A store at the revision before page_readers existed."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_server").create_database(f"t_{uuid.uuid4().hex[:12]}")
    upgrade(url, "0005")
    return url


def test_the_migration_fills_page_readers_from_stored_feedback(url_at_0005):
    now = datetime.now(UTC).replace(microsecond=0)
    hour = timedelta(hours=1)
    rows = [
        submission("0.1", "a", now - 3 * hour),
        submission("0.1", "a", now - hour, rating=1, comment="Typo in step 2"),
        submission("0.1", "a", now, rating=1),  # a helpful rating: no work, not a reader
        submission("0.1", "b", now - 2 * hour, rating=1, selection="TIDEWAY_PORT"),
        submission("0.1", None, now),  # no client: not countable
        submission("0.0.9", "a", now - 5 * hour),
        submission("0.1", "c", now, page="quickstart/", rating=1),
    ]
    engine = make_engine(url_at_0005)
    try:
        with engine.begin() as conn:
            conn.execute(insert(feedback), rows)
        upgrade(url_at_0005)
        with engine.connect() as conn:
            found = {
                (r.page, r.version, r.client_hash): r.last_at
                for r in conn.execute(select(page_readers))
            }
    finally:
        engine.dispose()
    assert found == {
        (PAGE, "0.1", "a"): now - hour,
        (PAGE, "0.1", "b"): now - 2 * hour,
        (PAGE, "0.0.9", "a"): now - 5 * hour,
    }
