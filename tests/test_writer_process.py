"""The machine's writer process: workers hand it submissions over a Unix socket, it commits
what arrived together in one transaction, and a worker that cannot reach it commits alone."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from feedback_api import create_app
from feedback_api.store import make_engine
from feedback_api.store.checkpoint import checkpoint_in_background
from feedback_api.store.models import Feedback
from feedback_api.store.writer import GroupCommitter
from feedback_api.store.writer_process import (
    WriterClient,
    WriterError,
    WriterServer,
    wait_until_listening,
)
from tests.conftest import TEST_SECRET, count_rows


def row(key: str | None = None) -> dict:
    return {
        "page": "quickstart/", "version": "0.1", "rating": 1, "comment": None, "reasons": [],
        "selection": None, "anchor": None, "email": None, "notify": False, "locale": "en",
        "client_hash": "c" * 32, "amend_token_hash": "a" * 64,
        "idempotency_key": key or uuid.uuid4().hex, "request_hash": "r" * 64,
        "created_at": datetime.now(UTC), "amended_at": None,
    }  # fmt: skip


def stored(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT idempotency_key, id FROM feedback")).all())
    finally:
        engine.dispose()


class Batches:
    """A committer that records the size of every batch the writer hands it."""

    def __init__(self, committer: GroupCommitter):
        self.committer = committer
        self.sizes: list[int] = []

    def commit_rows(self, rows):
        self.sizes.append(len(rows))
        return self.committer.commit_rows(rows)

    def __getattr__(self, name):  # routing and the rest: the committer's own
        return getattr(self.committer, name)

    def __setattr__(self, name, value):
        if name in ("committer", "sizes"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.committer, name, value)


@pytest.fixture(params=["abstract", "file"])
def socket_path(request, tmp_path):
    """The server's kind (`@name`, no file) and a socket file, as an operator may set."""
    if request.param == "abstract":
        return f"@tideway-test-{uuid.uuid4().hex}"
    return str(tmp_path / "writer.sock")


def serve_in_thread(path: str, committer) -> tuple[WriterServer, threading.Thread]:
    server = WriterServer(path, committer)
    server.listen()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def test_concurrent_submissions_share_commits_and_each_gets_its_id(store_url, socket_path):
    engine = make_engine(store_url)
    batches = Batches(GroupCommitter(engine, Feedback.__table__))
    server, thread = serve_in_thread(socket_path, batches)
    client = WriterClient(socket_path, local=None)  # a fallback would fail the test
    rows = [row() for _ in range(200)]
    try:
        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(client.insert, rows))
        assert client.insert(rows[0]) is None  # the key is stored: a replay, not a new row
    finally:
        server.stop()
        thread.join(timeout=5)
        engine.dispose()
    ids = [outcome[0] for outcome in outcomes]
    assert len(set(ids)) == 200
    assert stored(store_url) == {r["idempotency_key"]: i for r, i in zip(rows, ids, strict=True)}
    assert sum(batches.sizes[:-1]) == 200 and max(batches.sizes) > 1  # grouped, none lost
    assert not os.path.exists(socket_path)  # a socket file is removed on the way out


def test_every_field_of_a_submission_reaches_the_store_unchanged(sqlite_url, socket_path):
    """The frame between worker and writer (a tuple, times in microseconds) loses nothing:
    the stored row reads back as the worker's row, to the microsecond and in UTC."""
    engine = make_engine(sqlite_url)
    server, thread = serve_in_thread(socket_path, GroupCommitter(engine, Feedback.__table__))
    full = row() | {
        "rating": 0, "comment": "Step 3 fails — «é»", "reasons": ["inaccurate", "outdated"],
        "selection": "pip install", "anchor": "step-3", "email": "r@example.org",
        "notify": True, "locale": "fr-CA",
        "created_at": datetime(2026, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC),
        "amended_at": datetime(2026, 3, 2, 0, 0, 0, 1, tzinfo=UTC),
    }  # fmt: skip
    try:
        stored_id, _task = WriterClient(socket_path, local=None).insert(full)
    finally:
        server.stop()
        thread.join(timeout=5)
    try:
        with Session(engine) as session:
            back = session.get(Feedback, stored_id)
            assert {name: getattr(back, name) for name in full} == full
            assert back.routed  # a graceful stop routes what it committed
    finally:
        engine.dispose()


def unrouted(url: str) -> int:
    return count_rows(url, where="NOT routed")


def test_a_backlog_left_unrouted_holds_no_acknowledgement_while_it_is_routed(sqlite_url):
    # 2,000 acknowledged rows that nobody routed (the routing failed for a while): the
    # writer that starts routes them between its commits, a batch at a time.
    engine = make_engine(sqlite_url)
    left = GroupCommitter(engine, Feedback.__table__)
    left.defer_routing = True
    left.commit_rows([row() for _ in range(2000)])
    assert unrouted(sqlite_url) == 2000
    server, thread = serve_in_thread(f"@tideway-test-{uuid.uuid4().hex}", GroupCommitter(
        engine, Feedback.__table__))  # fmt: skip
    client = WriterClient(server.path, local=None)
    try:
        client.insert(row())  # answered, then the loop turns to the backlog
        client.insert(row())
        # Answered between two of the backlog's batches, not after all of them.
        assert unrouted(sqlite_url) > 1000
        deadline = time.monotonic() + 30
        while unrouted(sqlite_url) and time.monotonic() < deadline:
            time.sleep(0.05)  # the loop goes on routing the rest with nothing to commit
        assert unrouted(sqlite_url) == 0
    finally:
        server.stop()
        thread.join(timeout=5)
        engine.dispose()


class Failing:
    """A store whose every commit fails; it routes between its commits, as SQLite does."""

    unrouted: list = []
    engine = make_engine("sqlite://")

    def commit_rows(self, rows):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    def route_leftovers(self, *_args, **_kwargs):
        return 0


def test_a_store_error_reaches_the_worker_as_writer_error(socket_path):
    server, thread = serve_in_thread(socket_path, Failing())
    try:
        with pytest.raises(WriterError, match="OperationalError"):
            WriterClient(socket_path, local=None).insert(row())
    finally:
        server.stop()
        thread.join(timeout=5)


def test_without_a_writer_the_worker_commits_itself(sqlite_url, tmp_path):
    engine = make_engine(sqlite_url)
    client = WriterClient(str(tmp_path / "nobody-listens.sock"),
                          GroupCommitter(engine, Feedback.__table__))  # fmt: skip
    try:
        first = row()
        created = client.insert(first)
        assert created is not None and client.insert(first) is None
    finally:
        engine.dispose()
    assert list(stored(sqlite_url)) == [first["idempotency_key"]]


def _serve_forever(path: str, url: str) -> None:
    engine = make_engine(url)
    WriterServer(path, GroupCommitter(engine, Feedback.__table__)).serve_forever()


def test_a_writer_killed_under_load_loses_no_acknowledged_submission(sqlite_url, socket_path):
    writer = multiprocessing.get_context("spawn").Process(
        target=_serve_forever, args=(socket_path, sqlite_url), daemon=True
    )
    writer.start()
    assert wait_until_listening(socket_path, proc=None)
    engine = make_engine(sqlite_url)
    client = WriterClient(socket_path, GroupCommitter(engine, Feedback.__table__))
    acknowledged: dict[str, int] = {}
    lock = threading.Lock()

    def submit(i: int) -> None:
        if i == 150:
            os.kill(writer.pid, signal.SIGKILL)
        item = row()
        outcome = client.insert(item)
        if outcome is None:  # committed by the writer just before it died: a replay
            outcome = (stored(sqlite_url)[item["idempotency_key"]], None)
        with lock:
            acknowledged[item["idempotency_key"]] = outcome[0]

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(submit, range(400)))
    finally:
        writer.join(timeout=5)
        engine.dispose()
    assert len(acknowledged) == 400
    assert stored(sqlite_url) == acknowledged  # every one present exactly once, right id


def test_a_worker_committing_itself_answers_503_while_sqlite_is_locked(published_site, sqlite_url):
    app = create_app({"database_url": sqlite_url, "site_dir": published_site.site_dir,
                      "secret_key": TEST_SECRET})  # fmt: skip
    assert app.extensions["writer"] is app.extensions["group_commit"]  # no writer process
    client = app.test_client()
    submission = {"page": "quickstart/", "version": "0.1", "rating": 0}
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer, past the busy timeout
        refused = client.post("/api/v1/feedback", json={**submission, "idempotency_key": "k" * 20})
        assert refused.status_code == 503
        assert refused.json["error"]["code"] == "store_unavailable"
        holder.execute("ROLLBACK")
        created = client.post("/api/v1/feedback", json={**submission, "idempotency_key": "k" * 20})
        assert created.status_code == 201
    finally:
        holder.close()
        app.extensions["store"].dispose()


OTHER_USER_CLIENT = """
import json, socket, struct, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect("\\0" + sys.argv[1][1:])
body = json.dumps({"idempotency_key": "x" * 20}).encode()
try:
    sock.sendall(struct.pack(">I", len(body)) + body)
    print("answered" if sock.recv(100) else "closed")
except OSError:
    print("closed")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_a_process_of_another_user_is_turned_away(sqlite_url):
    path = f"@tideway-test-{uuid.uuid4().hex}"
    engine = make_engine(sqlite_url)
    server, thread = serve_in_thread(path, Batches(GroupCommitter(engine, Feedback.__table__)))
    try:
        # The system interpreter: the postgres user may not be able to read our venv.
        outcome = subprocess.run(
            ["runuser", "-u", "postgres", "--", "/usr/bin/python3", "-c", OTHER_USER_CLIENT, path],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        assert outcome.stdout.strip() == "closed"
        assert server.committer.sizes == []  # nothing of it reached the store
        assert WriterClient(path, local=None).insert(row()) is not None  # our own: served
    finally:
        server.stop()
        thread.join(timeout=5)
        engine.dispose()


def _wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


@pytest.mark.slow
def test_the_supervisor_restarts_a_dead_writer_and_leaves_with_its_server(tmp_path):
    """A writer that dies is started again; when the process that started the supervisor
    (gunicorn's master) is gone, the supervisor stops its writer and exits."""
    pids = tmp_path / "pids"
    writer = (
        f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(600)"
    )
    supervisor = (
        "from feedback_api.run.writer_loop import Supervisor; "
        f"Supervisor([{sys.executable!r}, '-c', {writer!r}], poll=0.05).run()"
    )
    master = subprocess.Popen(
        [sys.executable, "-c",
         f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {supervisor!r}]); "
         "time.sleep(600)"],
        cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    try:
        started = lambda: pids.read_text().split() if pids.exists() else []  # noqa: E731
        (first,) = _wait_for(started)
        (sup,) = _wait_for(lambda: psutil.Process(master.pid).children())
        os.kill(int(first), signal.SIGKILL)
        _, second = _wait_for(lambda: len(started()) == 2 and started())
        assert psutil.pid_exists(int(second))
        master.kill()  # the server dies without stopping its children
        master.wait()
        _wait_for(lambda: not psutil.pid_exists(int(second)), timeout=10)
        sup.wait(timeout=10)
    finally:
        master.kill()


@pytest.mark.slow
def test_a_writer_does_not_outlive_its_killed_supervisor(tmp_path):
    """SIGKILL leaves the supervisor no chance to stop its writer: the kernel does it."""
    pids = tmp_path / "pids"
    writer = (
        f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(600)"
    )
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from feedback_api.run.writer_loop import Supervisor; "
            f"Supervisor([{sys.executable!r}, '-c', {writer!r}], poll=0.05).run()",
        ],
        cwd=Path(__file__).parent.parent,
    )
    try:
        (writer_pid,) = _wait_for(lambda: pids.read_text().split() if pids.exists() else [])
        supervisor.kill()
        supervisor.wait()
        _wait_for(lambda: not _running(int(writer_pid)), timeout=10)
    finally:
        supervisor.kill()


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_writers_commits_leave_wal_checkpoints_to_a_thread(sqlite_url):
    # A commit that checkpoints copies the WAL into the database and fsyncs it before it
    # returns, holding up every acknowledgement of its batch.
    engine = make_engine(sqlite_url)
    database = Path(engine.url.database)
    wal = Path(f"{database}-wal")
    try:
        committer = GroupCommitter(engine, Feedback.__table__)
        committer.hold_connection()
        idle = checkpoint_in_background(engine, committer.held_connection(), interval=3600)
        size = database.stat().st_size
        for _ in range(150):  # well past SQLite's automatic checkpoint at 1,000 WAL pages
            committer.commit_rows([row() for _ in range(20)])
        assert wal.stat().st_size > 1000 * 4096
        assert database.stat().st_size == size  # nothing was copied back by a commit
        idle.set()
        busy = checkpoint_in_background(engine, committer.held_connection(), interval=0.05)
        deadline = time.monotonic() + 10
        while database.stat().st_size == size and time.monotonic() < deadline:
            time.sleep(0.05)
        busy.set()
        assert database.stat().st_size > size  # the thread's checkpoint did it
        assert len(stored(sqlite_url)) == 150 * 20
    finally:
        engine.dispose()
