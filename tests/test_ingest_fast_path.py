"""`POST /api/v1/feedback` answered at the WSGI edge (feedback_api/ingest/fast_path.py)
against the same request answered by Flask: the same status line, headers, body, metrics,
log lines and stored rows, request by request, on two apps with stores of their own."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
import uuid

import pytest
from flask import request_started
from sqlalchemy import create_engine, text
from werkzeug.test import Client

from feedback_api import create_app
from feedback_api.http.body import BODY_LATE
from feedback_api.ingest.fast_path import STANDS_IN_FOR
from feedback_api.wsgi import build
from tests.conftest import TEST_SECRET, LiveServer
from tests.test_ingest_live import post, server_env

ORIGINS = "https://docs.example.com,https://docs.example.org"
TIMES = re.compile(rb'"(created_at|amend_until)":"[^"]+"')


def make_app(published_site, migrated_sqlite, path):
    shutil.copyfile(migrated_sqlite, path)
    app = create_app(
        {
            "database_url": f"sqlite:///{path}",
            "site_dir": published_site.site_dir,
            "secret_key": TEST_SECRET,
            "allowed_origins": ORIGINS,
            "rate_limit_client": "8/minute",  # the ninth request of a client is refused
        }
    )
    started = []
    request_started.connect(lambda sender, **_: started.append(1), app, weak=False)
    app.flask_requests = started
    return app


@pytest.fixture
def apps(published_site, migrated_sqlite, tmp_path):
    """(the app Flask answers directly, the app behind the WSGI edge), on stores of their own."""
    pair = [make_app(published_site, migrated_sqlite, tmp_path / f"{n}.sqlite3") for n in "ab"]
    yield pair
    for app in pair:
        app.extensions["store"].dispose()


def submission(key: str, **fields) -> bytes:
    body = {"page": "quickstart/", "version": "0.1", "rating": 0, "idempotency_key": key}
    return json.dumps({**body, **fields}).encode()


KEY = uuid.uuid4().hex
GRANTED = {"Origin": "https://docs.example.com"}
# (what it shows, body, headers, extra environ): each from the same client address, so the
# client's limit (8 a minute) refuses the ninth; the late body is refused before the limit.
REQUESTS = [
    ("201", submission(KEY, reasons=["outdated"], comment="Step 3 fails"), GRANTED, {}),
    ("200 replay", submission(KEY, reasons=["outdated"], comment="Step 3 fails"), GRANTED, {}),
    ("422 schema", submission(uuid.uuid4().hex, rating=2), {"Origin": "https://evil.example"}, {}),
    ("422 reused key", submission(KEY, rating=1), {}, {}),
    ("413", submission(uuid.uuid4().hex, comment="y" * 17000), GRANTED, {}),
    ("415", submission(uuid.uuid4().hex), {**GRANTED, "Content-Type": "text/plain"}, {}),
    ("400", b'{"page": ', GRANTED, {}),
    ("408", submission(uuid.uuid4().hex), GRANTED, {BODY_LATE: True}),
    ("201 header key", submission(KEY[::-1]), {"Idempotency-Key": KEY[::-1]}, {}),
    ("429", submission(uuid.uuid4().hex), GRANTED, {}),
]


def send(client: Client, body: bytes, headers: dict, environ: dict):
    headers = {"Content-Type": "application/json", **headers}
    return client.post(
        "/api/v1/feedback",
        data=body,
        headers=headers,
        environ_base={"REMOTE_ADDR": "203.0.113.9", **environ},
    )


def comparable(response) -> tuple:
    """Status line, header set and body; the clock's instants masked, as they differ."""
    body = TIMES.sub(rb'"\1":"(time)"', response.data)
    headers = sorted(
        (name, value if name != "Content-Length" else "(length)")
        for name, value in response.headers.items()
    )
    assert int(response.headers["Content-Length"]) == len(response.data)
    return response.status, headers, body


def counted(app) -> dict:
    """The app's metrics, less the latencies' sums and buckets (the two took different times)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in app.extensions["metrics"].registry.collect()
        for sample in metric.samples
        if not sample.name.endswith(("_sum", "_bucket", "_created"))
    }


def test_the_edge_answers_as_flask_does_without_flask(apps):
    flask_app, edge_app = apps
    flask_client, edge_client = Client(flask_app), Client(build(edge_app))
    for what, body, headers, environ in REQUESTS:
        expected = send(flask_client, body, headers, environ)
        answered = send(edge_client, body, headers, environ)
        assert answered.status == expected.status, what
        assert comparable(answered) == comparable(expected), what
        assert what.split()[0] == str(expected.status_code), (what, expected.data)
    assert len(flask_app.flask_requests) == len(REQUESTS)
    assert edge_app.flask_requests == [], "a submission went through Flask"
    assert counted(edge_app) == counted(flask_app)
    rows = []
    for app in apps:
        with app.extensions["store"].engine.connect() as conn:
            rows.append(
                conn.execute(
                    text(
                        "SELECT id, page, version, rating, reasons, comment, client_hash, "
                        "amend_token_hash, idempotency_key, request_hash, task_id "
                        "FROM feedback ORDER BY id"
                    )
                ).all()
            )
    assert len(rows[0]) == 2 and rows[1] == rows[0]
    assert rows[0][0][-1] is not None  # routed to its review task in the commit


def test_a_store_that_fails_is_answered_and_logged_as_flask_does(apps, caplog):
    for app in apps:
        with app.extensions["store"].engine.begin() as conn:
            conn.execute(text("ALTER TABLE feedback RENAME TO feedback_elsewhere"))
    flask_app, edge_app = apps
    answers, lines = [], []
    for client in (Client(flask_app), Client(build(edge_app))):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="feedback_api"):
            answers.append(send(client, submission(uuid.uuid4().hex), GRANTED, {}))
        lines.append(
            [(r.name, r.levelname, r.getMessage(), bool(r.exc_info)) for r in caplog.records]
        )
    assert answers[0].status_code == 503 and answers[0].headers["Retry-After"] == "5"
    assert comparable(answers[1]) == comparable(answers[0])
    # (The committer also logs, once per app, that it could not route what was left.)
    assert ("feedback_api", "WARNING", "Store unavailable while storing feedback", True) in lines[0]
    assert lines[1] == lines[0]
    assert edge_app.flask_requests == []


def test_every_hook_flask_would_run_for_a_submission_is_one_the_edge_stands_in_for(apps):
    app = apps[0]

    def names(funcs) -> list[str]:
        if not isinstance(funcs, dict):  # teardown_appcontext: the app's alone
            funcs = {None: funcs}
        return [f.__name__ for scope in (None, "ingest") for f in funcs.get(scope, ())]

    hooks = {kind: names(getattr(app, f"{kind}_funcs")) for kind in STANDS_IN_FOR}
    assert hooks == STANDS_IN_FOR
    assert not app.url_value_preprocessors and app.session_interface.open_session(
        app, app.request_class({"PATH_INFO": "/api/v1/feedback", "REQUEST_METHOD": "POST"})
    ) is None  # fmt: skip


def test_everything_else_still_goes_to_flask(apps):
    _, edge_app = apps
    edge = Client(build(edge_app))
    preflight = edge.options(
        "/api/v1/feedback",
        headers={**GRANTED, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["Access-Control-Allow-Methods"] == "PATCH, POST"
    assert edge.get("/api/v1/feedback").status_code == 405
    assert edge.post("/api/v1/feedback/", json={}).status_code == 404
    assert len(edge_app.flask_requests) == 3


ROW = (
    "SELECT id, page, version, rating, reasons, comment, client_hash, amend_token_hash, "
    "idempotency_key, request_hash, routed, task_id FROM feedback ORDER BY id"
)
TASK = ("SELECT id, page, version, state, category, priority, priority_rule, team, tier, "
        "feedback_count, reader_count FROM tasks ORDER BY id")  # fmt: skip


def stored(engine) -> tuple[list, list]:
    with engine.connect() as conn:
        return conn.execute(text(ROW)).all(), conn.execute(text(TASK)).all()


@pytest.mark.slow  # starts gunicorn
def test_a_submission_through_the_server_is_stored_and_routed_as_before(
    published_site, sqlite_url, apps
):
    """gunicorn serves the edge: the submission is stored and becomes a review task, the same
    row and the same task as Flask's view makes of it on a store of its own."""
    flask_app, _ = apps
    body = submission(KEY, reasons=["outdated"], comment="Step 3 fails")
    by_flask = Client(flask_app).post(
        "/api/v1/feedback", data=body, content_type="application/json",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )  # fmt: skip
    assert by_flask.status_code == 201
    server = LiveServer(server_env(published_site, sqlite_url), workers=1).start()
    engine = create_engine(sqlite_url)
    try:
        status, answer, _ = post(server.url, json.loads(body))
        assert status == 201 and answer["id"] == 1
        deadline = time.monotonic() + 10
        while not stored(engine)[0][0].routed and time.monotonic() < deadline:
            time.sleep(0.05)  # the writer process routes right after the answer
        rows, tasks = stored(engine)
    finally:
        engine.dispose()
        server.stop()
    assert (rows, tasks) == stored(flask_app.extensions["store"].engine)
    assert rows[0].routed and rows[0].task_id == tasks[0].id
    assert tasks[0].state == "new" and tasks[0].feedback_count == 1
