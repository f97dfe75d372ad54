"""The ingest API as a real server process: durability under SIGKILL, the store going away,
concurrent replays, and rate limits shared through Redis across processes."""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from pytest_redis import factories
from sqlalchemy import create_engine, text

from feedback_api.store import upgrade
from tests import services
from tests.conftest import LiveServer

redis_server = factories.redis_proc(port=None)

# Every test here starts gunicorn (LiveServer), some several times.
pytestmark = pytest.mark.slow


def post(base_url: str, payload: dict, timeout: float = 10.0, headers=None):
    """POST JSON; (status, parsed body, headers). Raises OSError when the server is gone."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(
            "POST", "/api/v1/feedback", body=json.dumps(payload),
            headers={"Content-Type": "application/json", **(headers or {})},
        )  # fmt: skip
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None, dict(response.getheaders())
    finally:
        conn.close()


def get(base_url: str, path: str) -> int:
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def rating(key: str | None = None, **extra) -> dict:
    return {"page": "quickstart/", "version": "0.1", "rating": 0,
            "idempotency_key": key or uuid.uuid4().hex, **extra}  # fmt: skip


def keys_and_ids(url: str) -> dict[str, list[int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found: dict[str, list[int]] = {}
            for key, id_, page, version, rating_ in conn.execute(
                text("SELECT idempotency_key, id, page, version, rating FROM feedback")
            ):
                assert (page, version, rating_) == ("quickstart/", "0.1", 0), "half a row"
                found.setdefault(key, []).append(id_)
            return found
    finally:
        engine.dispose()


def server_env(published_site, url: str, **extra) -> dict[str, str]:
    return {
        "TIDEWAY_DATABASE_URL": url,
        "TIDEWAY_SITE_DIR": str(published_site.site_dir),
        # Durability, not rate limits, is under test here.
        "TIDEWAY_RATE_LIMIT_CLIENT": "100000/minute",
        "TIDEWAY_RATE_LIMIT_PAGE": "100000/minute",
        **extra,
    }


def load_until_killed(server: LiveServer, acknowledged: dict[str, int], sent: set[str]):
    """Eight clients post until the server dies at a random moment, then stop."""
    stop = threading.Event()
    lock = threading.Lock()

    def client():
        while not stop.is_set():
            key = uuid.uuid4().hex
            with lock:
                sent.add(key)
            try:
                status, answer, _ = post(server.url, rating(key), timeout=5)
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            if status in (200, 201):
                with lock:
                    acknowledged[key] = answer["id"]

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(0.3, 1.2))
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=15)


@pytest.fixture(params=["sqlite", "postgres"])
def durable_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'durable.sqlite3'}"
        upgrade(url)
        return url
    return request.getfixturevalue("pg_url")


def test_acknowledged_submissions_survive_sigkill(published_site, durable_url):
    acknowledged: dict[str, int] = {}
    sent: set[str] = set()
    for _round in range(10):
        server = LiveServer(server_env(published_site, durable_url)).start()
        load_until_killed(server, acknowledged, sent)
    assert len(acknowledged) > 50, "the load never got going"
    stored = keys_and_ids(durable_url)
    for key, id_ in acknowledged.items():
        assert stored.get(key) == [id_], f"acknowledged {key} lost or duplicated"
    assert set(stored) <= sent  # nothing that nobody sent
    assert all(len(ids) == 1 for ids in stored.values())
    if durable_url.startswith("sqlite"):
        path = durable_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _serving_writer(server) -> psutil.Process:
    # gunicorn's master starts the supervisor, which starts the writer that serves.
    tree = psutil.Process(server.proc.pid).children(recursive=True)
    (writer,) = [p for p in tree if "--no-supervise" in p.cmdline()]
    return writer


def gone(proc: psutil.Process, timeout: float = 5.0) -> bool:
    """Whether `proc` ends (or is left a zombie) within `timeout`: a SIGKILLed process takes
    a moment to exit, and the server's stop does not wait for its grandchildren."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_workers_commit_through_the_writer_process_and_survive_its_death(
    published_site, sqlite_url
):
    server = LiveServer(server_env(published_site, sqlite_url)).start()
    acknowledged = {}

    def post_some(n: int) -> None:
        for _ in range(n):
            status, answer, _ = post(server.url, rating())
            assert status == 201
            acknowledged[answer["id"]] = answer

    try:
        writer = _serving_writer(server)
        post_some(20)
        # Its listening socket, and the connection of each worker thread that handed it one.
        assert len(writer.net_connections(kind="unix")) > 1
        writer.kill()  # alone: the workers must carry on, committing themselves
        writer.wait(timeout=5)
        post_some(20)
        # The supervisor starts another writer, and the workers find it again by themselves.
        deadline = time.monotonic() + 20
        while True:
            try:
                successor = _serving_writer(server)
                if successor.pid != writer.pid:
                    post_some(5)
                    if len(successor.net_connections(kind="unix")) > 1:
                        break
            except (ValueError, psutil.Error):
                pass  # between the two
            assert time.monotonic() < deadline, "no writer took over"
            time.sleep(0.2)
    finally:
        server.stop()
    assert gone(successor), "the writer outlived its server"
    stored = keys_and_ids(sqlite_url)
    assert sorted(i for ids in stored.values() for i in ids) == sorted(acknowledged)


def test_same_key_twenty_times_at_once_stores_one_row(published_site, sqlite_url):
    server = LiveServer(server_env(published_site, sqlite_url)).start()
    try:
        payload = rating()
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: post(server.url, payload), range(20)))
    finally:
        server.stop()
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200] * 19 + [201]
    assert len({answer["id"] for _, answer, _ in answers}) == 1
    assert keys_and_ids(sqlite_url) == {payload["idempotency_key"]: [answers[0][1]["id"]]}


@pytest.mark.postgres  # starts its own server, to stop it: no fixture shows it
def test_postgres_going_away_answers_503_then_recovers(published_site):
    with services.postgres_server() as pg:
        url = pg.create_database("downtime")
        upgrade(url)
        server = LiveServer(server_env(published_site, url)).start()
        try:
            assert post(server.url, rating())[0] == 201
            pg.stop()
            status, answer, headers = post(server.url, rating())
            assert status == 503
            assert answer["error"]["code"] == "store_unavailable"
            assert int(headers["Retry-After"]) > 0
            assert get(server.url, "/healthz") == 200  # the server keeps running
            assert get(server.url, "/readyz") == 503
            pg.start()
            deadline = time.monotonic() + 45
            while (status := post(server.url, rating())[0]) != 201:
                assert time.monotonic() < deadline, f"no recovery, still {status}"
                time.sleep(0.2)
            assert get(server.url, "/readyz") == 200
        finally:
            server.stop()
        assert len(keys_and_ids(url)) == 2


def test_sqlite_locked_past_the_timeout_answers_503_then_recovers(published_site, sqlite_url):
    server = LiveServer(server_env(published_site, sqlite_url)).start()
    path = sqlite_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the file
        status, answer, headers = post(server.url, rating(), timeout=20)
        assert status == 503 and answer["error"]["code"] == "store_unavailable"
        assert "Retry-After" in headers
        blocker.execute("ROLLBACK")
        assert post(server.url, rating())[0] == 201
    finally:
        blocker.close()
        server.stop()
    assert len(keys_and_ids(sqlite_url)) == 1


@pytest.fixture
def redis_url(request):
    services.require_redis()
    proc = request.getfixturevalue("redis_server")
    return f"redis://{proc.host}:{proc.port}/0"


def test_rate_limit_holds_across_processes_with_redis(published_site, sqlite_url, redis_url):
    env = server_env(
        published_site, sqlite_url,
        TIDEWAY_RATE_LIMIT_CLIENT="5/minute", TIDEWAY_RATE_LIMIT_STORAGE=redis_url,
    )  # fmt: skip
    first = LiveServer(env, workers=1).start()
    second = LiveServer(env, workers=1).start()
    try:
        statuses = [post(s.url, rating())[0] for s in (first, second) * 3]
        status, answer, headers = post(second.url, rating())
    finally:
        first.stop()
        second.stop()
    assert statuses == [201] * 5 + [429]
    assert status == 429 and answer["error"]["code"] == "rate_limited"
    assert 0 < int(headers["Retry-After"]) <= 60
    assert len(keys_and_ids(sqlite_url)) == 5


def test_without_shared_storage_each_process_counts_alone(published_site, sqlite_url):
    # The control for the test above: in-memory counters do not see the other process.
    env = server_env(
        published_site, sqlite_url,
        TIDEWAY_RATE_LIMIT_CLIENT="5/minute", TIDEWAY_RATE_LIMIT_STORAGE="memory://",
    )  # fmt: skip
    first = LiveServer(env, workers=1).start()
    second = LiveServer(env, workers=1).start()
    try:
        statuses = [post(s.url, rating())[0] for s in (first, second) * 3]
    finally:
        first.stop()
        second.stop()
    assert statuses == [201] * 6


def test_cors_grants_only_the_configured_origin(published_site, sqlite_url):
    env = server_env(published_site, sqlite_url, TIDEWAY_ALLOWED_ORIGINS="https://docs.example.com")
    server = LiveServer(env, workers=1).start()
    try:
        good = post(server.url, rating(), headers={"Origin": "https://docs.example.com"})
        bad = post(server.url, rating(), headers={"Origin": "https://evil.example"})
    finally:
        server.stop()
    assert good[2].get("Access-Control-Allow-Origin") == "https://docs.example.com"
    assert "Access-Control-Allow-Origin" not in bad[2]


def test_a_row_acknowledged_but_not_routed_when_the_writer_is_killed_is_routed_after(
    published_site, pg_url
):
    # Routing is held up by a lock on the day counts it writes first; storing is not. (The
    # writer is single-threaded: one submission, since the next waits for that routing.)
    blocker = create_engine(pg_url).connect()
    blocker.exec_driver_sql("BEGIN")
    blocker.exec_driver_sql("LOCK TABLE ratings_by_page IN EXCLUSIVE MODE")
    server = LiveServer(server_env(published_site, pg_url)).start()
    engine = create_engine(pg_url)
    try:
        status, answer, _ = post(server.url, rating())
        assert status == 201 and answer["task_id"] is None
        with engine.connect() as conn:
            unrouted = conn.execute(text("SELECT id FROM feedback WHERE NOT routed")).all()
        assert unrouted == [(answer["id"],)]  # acknowledged, durable, not routed
        writer = _serving_writer(server)
        writer.kill()  # mid-routing: its transaction is lost with it
        writer.wait(timeout=5)
        blocker.rollback()
        # The supervisor starts another writer, which routes it before anything else.
        deadline = time.monotonic() + 20
        while True:
            with engine.connect() as conn:
                routed = conn.execute(
                    text("SELECT routed, task_id FROM feedback WHERE id = :id"),
                    {"id": answer["id"]},
                ).one()
            if routed[0] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert routed[0] and routed[1] is not None, "not routed after the writer's restart"
        with engine.connect() as conn:
            tasks = conn.execute(text("SELECT id, feedback_count FROM tasks")).all()
            counted = conn.execute(text("SELECT sum(ratings) FROM ratings_by_page")).scalar()
        assert tasks == [(routed[1], 1)]
        assert counted == 1  # counted once, by the writer that routed it
    finally:
        blocker.close()
        engine.dispose()
        server.stop()
