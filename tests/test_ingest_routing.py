"""Routing after the acknowledgement (the writer process's mode): a submission is answered
once its own row is durable, routed to its review task right after, and routed exactly once
whoever gets to it first: the writer, a writer started after one was killed, a worker
committing itself, or an amend that came sooner."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from feedback_api import create_app
from feedback_api.store.writer_process import WriterServer
from tests.conftest import TEST_SECRET


def stored(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def submit(client, **fields) -> dict:
    body = {"page": "quickstart/", "version": "0.1", "rating": 0,
            "idempotency_key": uuid.uuid4().hex, **fields}  # fmt: skip
    response = client.post("/api/v1/feedback", json=body)
    assert response.status_code == 201, response.json
    return response.json


def deferred(app):
    """The app's committer in the writer process's mode: routing after the answer."""
    committer = app.extensions["group_commit"]
    committer.defer_routing = True
    return committer


def test_the_answer_comes_before_routing_and_routing_follows(app, client, store_url):
    committer = deferred(app)
    ids = [submit(client)["id"] for _ in range(3)] + [submit(client, rating=1)["id"]]
    assert stored(store_url, "SELECT count(*) FROM feedback WHERE routed") == [(0,)]
    assert stored(store_url, "SELECT count(*) FROM tasks") == [(0,)]
    assert committer.route_unrouted() == 4
    rows = stored(store_url, "SELECT id, routed, task_id FROM feedback ORDER BY id")
    [task] = {task_id for _id, _routed, task_id in rows[:3]}
    assert [r[:2] for r in rows] == [(i, True) for i in ids] and rows[3][2] is None
    assert stored(store_url, "SELECT feedback_count FROM tasks") == [(3,)]
    assert stored(store_url, "SELECT sum(ratings), sum(helpful) FROM ratings_by_page") == [(4, 1)]
    assert task is not None


def test_an_amend_before_routing_routes_the_complete_submission_once(app, client, store_url):
    committer = deferred(app)
    helpful, unhelpful = submit(client, rating=1), submit(client, rating=0)
    assert helpful["task_id"] is None and unhelpful["task_id"] is None
    for created in (helpful, unhelpful):
        amended = client.patch(
            f"/api/v1/feedback/{created['id']}",
            json={"comment": "Please add a Windows example"},
            headers={"Authorization": f"Bearer {created['amend_token']}"},
        )
        assert amended.status_code == 200, amended.json
        assert amended.json["task_id"] is not None  # each now makes work
    assert committer.route_unrouted() == 2  # the writer's turn comes: nothing left to do
    # One task, each submission on it once, each rating counted once.
    assert stored(store_url, "SELECT category, feedback_count, reader_count FROM tasks") == [
        ("request", 2, 1)
    ]
    assert stored(store_url, "SELECT sum(ratings), sum(helpful) FROM ratings_by_page") == [(2, 1)]


def test_rows_a_killed_writer_left_are_routed_by_the_next_writer(app, client, store_url):
    committer = deferred(app)
    ids = [submit(client)["id"] for _ in range(3)]
    committer.unrouted.clear()  # the writer is killed: what it held in memory is gone
    successor = create_app(
        {"database_url": store_url, "site_dir": app.config["SETTINGS"].site_dir,
         "secret_key": TEST_SECRET},
    )  # fmt: skip
    path = f"@tideway-test-{uuid.uuid4().hex}"
    server = WriterServer(path, successor.extensions["group_commit"])
    server.listen()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # On its first round, before any submission comes: within the select's timeout.
        thread.join(timeout=1.5)
    finally:
        server.stop()
        thread.join(timeout=5)
        successor.extensions["store"].dispose()
    rows = stored(store_url, "SELECT id, routed, task_id FROM feedback ORDER BY id")
    assert [r[:2] for r in rows] == [(i, True) for i in ids]
    assert len({r[2] for r in rows}) == 1 and rows[0][2] is not None
    assert stored(store_url, "SELECT feedback_count FROM tasks") == [(3,)]


def test_a_worker_committing_itself_routes_what_a_killed_writer_left(app, client, store_url):
    committer = deferred(app)
    first = [submit(client)["id"] for _ in range(2)]
    committer.unrouted.clear()  # killed before routing them
    worker = create_app(
        {"database_url": store_url, "site_dir": app.config["SETTINGS"].site_dir,
         "secret_key": TEST_SECRET},
    )  # fmt: skip
    try:
        later = submit(worker.test_client())
    finally:
        worker.extensions["store"].dispose()
    assert later["task_id"] is not None  # routed in its own commit, as before
    rows = stored(store_url, "SELECT id, routed, task_id FROM feedback ORDER BY id")
    assert [(i, r) for i, r, _t in rows] == [
        (first[0], True),
        (first[1], True),
        (later["id"], True),
    ]
    assert {t for _i, _r, t in rows} == {later["task_id"]}
    assert stored(store_url, "SELECT feedback_count FROM tasks") == [(3,)]


def wait_until_routed(url: str, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while stored(url, "SELECT count(*) FROM feedback WHERE routed") != [(count,)]:
        assert time.monotonic() < deadline, f"{count} submission(s) not routed in {timeout} s"
        time.sleep(0.05)


@pytest.mark.postgres
def test_on_postgresql_no_answer_waits_for_a_routing_batch(pg_url, published_site):
    """PostgreSQL routes beside the commits (writer_process.RoutingThread): while a routing
    transaction waits (here for the page's task, which a reviewer's transaction holds),
    submissions are still committed and answered, and routed once it can go on."""
    site = published_site.site_dir
    config = {"database_url": pg_url, "site_dir": site, "secret_key": TEST_SECRET}
    writer_app = create_app({**config, "writer_socket": ""})
    committer = writer_app.extensions["group_commit"]
    committer.hold_connection()  # as the writer process holds it
    path = f"@tideway-test-{uuid.uuid4().hex}"
    server = WriterServer(path, committer)
    server.listen()
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    client = create_app({**config, "writer_socket": path}).test_client()
    reviewer = create_engine(pg_url).connect()
    try:
        ids = {submit(client)["id"]}
        wait_until_routed(pg_url, 1)  # the page's task exists
        with reviewer.begin():
            reviewer.exec_driver_sql("SELECT id FROM tasks FOR UPDATE")
            ids.add(submit(client)["id"])
            time.sleep(0.6)  # its routing pass has begun, and waits for the task
            answered = []
            later = threading.Thread(target=lambda: answered.append(submit(client)))
            later.start()
            later.join(timeout=3)
            assert answered, "the answer waited for the routing batch"
            ids.add(answered[0]["id"])
            assert stored(pg_url, "SELECT count(*) FROM feedback WHERE routed") == [(1,)]
        wait_until_routed(pg_url, 3)
    finally:
        reviewer.close()
        server.stop()
        serving.join(timeout=10)
        writer_app.extensions["store"].dispose()
    rows = stored(pg_url, "SELECT id, task_id FROM feedback ORDER BY id")
    assert {i for i, _ in rows} == ids and len({t for _, t in rows}) == 1 and rows[0][1]
