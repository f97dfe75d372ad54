"""`make serve`'s entry point, started for real on a free port, twice in a row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import psutil
import pytest

from feedback_api.config import load_settings
from feedback_api.run import gunicorn_hooks
from feedback_api.run.serve import gunicorn_args
from tests import services
from tests.conftest import ROOT, LiveServer, count_rows, make_docs_repo


def start_serve(repo, env):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "serve"), "--root", str(repo)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    services.wait_for_port(int(env["TIDEWAY_PORT"]), timeout=90, proc=proc)
    return proc


def stop_with_ctrl_c(proc) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    return out


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_serve_publishes_serves_and_stores_a_rating(tmp_path):
    repo = make_docs_repo(tmp_path / "repo")
    port = services.free_port()
    env = {**os.environ, "TIDEWAY_PORT": str(port)}
    base = f"http://127.0.0.1:{port}"

    proc = start_serve(repo, env)
    try:
        status, body = get(f"{base}/versions.json")
        assert status == 200
        assert json.loads(body)[0]["aliases"] == ["latest"]
        status, body = get(f"{base}/latest/quickstart/")
        assert status == 200 and b'name="feedback"' in body
        request = urllib.request.Request(
            f"{base}/api/v1/feedback",
            data=json.dumps({"page": "quickstart/", "version": "0.1", "rating": 0,
                             "idempotency_key": uuid.uuid4().hex}).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
    finally:
        out = stop_with_ctrl_c(proc)
    assert f"Serving the docs and the feedback API on {base}/" in out
    assert count_rows(f"sqlite:///{repo / 'var' / 'feedback.sqlite3'}") == 1

    # A second run reuses everything: no rebuild, same store.
    proc = start_serve(repo, env)
    try:
        assert get(f"{base}/latest/")[0] == 200
    finally:
        out = stop_with_ctrl_c(proc)
    assert "nothing rebuilt" in out
    assert count_rows(f"sqlite:///{repo / 'var' / 'feedback.sqlite3'}") == 1


@pytest.mark.slow
def test_a_bad_setting_stops_start_up_naming_it(tmp_path):
    repo = make_docs_repo(tmp_path / "repo")
    env = {**os.environ, "TIDEWAY_PORT": "eighty"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "serve"), "--root", str(repo)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "TIDEWAY_PORT" in done.stderr and "eighty" in done.stderr


def test_a_path_without_a_version_gets_the_sites_root_404(live_server, browser, published_site):
    import urllib.error

    try:
        urllib.request.urlopen(f"{live_server.url}/quickstart/", timeout=10)
        raise AssertionError("a missing path answered 2xx")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        assert exc.read() == (published_site.site_dir / "404.html").read_bytes()
    page = browser.new_page()
    page.goto(f"{live_server.url}/quickstart/")
    # The root 404 sends the reader to the same page in the default version.
    page.wait_for_url(f"{live_server.url}/latest/quickstart/", timeout=10_000)
    page.close()


def test_a_workers_quick_shutdown_runs_once_however_many_signals_ask():
    """Ctrl-C reaches a worker as SIGINT, and its master's SIGQUIT follows: run inside the
    first, a second shutdown deadlocks a gthread worker (gunicorn_hooks.post_fork)."""
    calls = []

    class Worker:
        def handle_quit(self, sig, frame):
            calls.append(sig)
            os.kill(os.getpid(), signal.SIGQUIT)  # the master's, while this one runs
            time.sleep(0.05)  # Python runs a pending handler between two instructions

    saved = {name: signal.getsignal(name) for name in (signal.SIGINT, signal.SIGQUIT)}
    try:
        worker = Worker()
        gunicorn_hooks.post_fork(None, worker)
        for name in (signal.SIGINT, signal.SIGQUIT):  # as the worker's init_signals() does
            signal.signal(name, worker.handle_quit)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
    finally:
        for name, handler in saved.items():
            signal.signal(name, handler)
    assert calls == [signal.SIGINT]


def ctrl_c(server: LiveServer) -> str:
    """SIGINT to the server's whole process group, as a terminal's Ctrl-C sends it."""
    os.killpg(server.proc.pid, signal.SIGINT)
    out, _ = server.proc.communicate(timeout=30)
    assert server.proc.returncode == 0, out
    return out


@pytest.mark.slow
def test_ctrl_c_stops_every_process_at_once_and_quietly(published_site, sqlite_url):
    """Master, workers, writer and its supervisor, sweep loop: no traceback, and no worker
    left to the master's SIGKILL."""
    server = LiveServer(
        {"TIDEWAY_DATABASE_URL": sqlite_url, "TIDEWAY_SITE_DIR": str(published_site.site_dir)}
    )
    settings = load_settings(port=server.port, workers=server.workers)
    server.proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *gunicorn_args(settings, sweep=True)],
        env=server.env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        services.wait_for_port(server.port, proc=server.proc)
        services.wait_for_http(f"{server.url}/healthz", proc=server.proc)
        for _ in range(4):
            get(f"{server.url}/latest/quickstart/")
        children = psutil.Process(server.proc.pid).children(recursive=True)
        out = ctrl_c(server)
    finally:
        if server.proc.poll() is None:
            os.killpg(server.proc.pid, signal.SIGKILL)
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    assert "SIGKILL" not in out, out
    psutil.wait_procs(children, timeout=10)
    assert not [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.slow
def test_ctrl_c_while_the_workers_boot_stops_them_at_once(published_site, sqlite_url):
    """A Ctrl-C as soon as a worker is forked, while it still patches and loads the app:
    before, the signal was lost in the worker and the master SIGKILLed it after 5 s."""
    server = LiveServer(
        {"TIDEWAY_DATABASE_URL": sqlite_url, "TIDEWAY_SITE_DIR": str(published_site.site_dir)}
    )
    settings = load_settings(port=server.port, workers=server.workers)
    server.proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *gunicorn_args(settings)],
        env=server.env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines = []
    try:
        for line in server.proc.stdout:
            lines.append(line)
            if "Booting worker" in line:
                break
        started = time.monotonic()
        os.killpg(server.proc.pid, signal.SIGINT)
        out = "".join(lines) + server.proc.communicate(timeout=30)[0]
        took = time.monotonic() - started
    finally:
        if server.proc.poll() is None:
            os.killpg(server.proc.pid, signal.SIGKILL)
    assert "SIGKILL" not in out and "Traceback" not in out, out
    assert took < 4, out
