"""End to end on a real server: gunicorn as `make serve` runs it (with the sweep loop),
users and tokens from the real CLI, mail to a real SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid

import psutil
import pytest

from feedback_api.config import load_settings
from feedback_api.run.serve import gunicorn_args
from tests import services
from tests.conftest import ROOT, TEST_SECRET
from tests.test_mail_loop import SmtpServer

READER = "live-reader@example.com"

# Runs gunicorn as `make serve` does, with the real CLI and a real SMTP server.
pytestmark = pytest.mark.slow


def call(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})},
        method="POST" if body is not None else "GET",
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def flask_cli(env: dict, *args: str) -> str:
    command = [sys.executable, "-m", "flask", "--app", "feedback_api", *args]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_serve_routes_feedback_mails_the_reader_and_stops_cleanly(published_site, sqlite_url):
    smtp = SmtpServer(services.free_port()).start()
    port = services.free_port()
    env = {
        **os.environ, "TIDEWAY_SECRET_KEY": TEST_SECRET, "TIDEWAY_DATABASE_URL": sqlite_url,
        "TIDEWAY_SITE_DIR": str(published_site.site_dir), "TIDEWAY_PORT": str(port),
        "TIDEWAY_SMTP_HOST": "127.0.0.1", "TIDEWAY_SMTP_PORT": str(smtp.port),
        "TIDEWAY_SWEEP_INTERVAL_SECONDS": "1", "TIDEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}/",
    }  # fmt: skip
    flask_cli(env, "users", "create", "ana", "--email", "ana@example.com", "--team", "docs-team")
    token = flask_cli(env, "tokens", "create", "ana").strip()
    settings = load_settings(port=port, workers=2)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *gunicorn_args(settings, sweep=True)], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        services.wait_for_port(port, proc=server)
        # Two workers, the writer process and the sweep loop.
        assert wait_for(lambda: len(psutil.Process(server.pid).children()) == 4)
        submission = {
            "page": "quickstart/", "version": "latest", "rating": 0, "email": READER,
            "notify": True, "comment": "Step 2 fails", "idempotency_key": uuid.uuid4().hex,
        }  # fmt: skip
        status, created = call(f"{base}/api/v1/feedback", submission)
        assert status == 201 and created["task_id"] is None  # routed after the answer
        assert call(f"{base}/api/v1/tasks")[0] == 401
        # The writer routes it a moment later: the queue shows it then.
        assert wait_for(lambda: call(f"{base}/api/v1/tasks?state=new", token=token)[1]["items"])
        status, queue = call(f"{base}/api/v1/tasks?state=new", token=token)
        assert status == 200 and len(queue["items"]) == 1
        task_id = queue["items"][0]["id"]
        assert queue["items"][0]["owner"] == "ana"
        # The loop in the background sends the confirmation within a round or two; the reader
        # confirms with the button on the page its link opens, and the acknowledgement follows.
        assert wait_for(lambda: len(smtp.inbox.to(READER)) == 1), "no confirmation"
        text = smtp.inbox.to(READER)[0].get_payload(decode=True).decode()
        [confirm] = [word for word in text.split() if "/api/v1/confirm/" in word]
        with urllib.request.urlopen(confirm, timeout=10) as page:
            assert page.status == 200
        confirmed = urllib.request.Request(confirm, data=b"", method="POST")
        with urllib.request.urlopen(confirmed, timeout=10) as page:
            assert page.status == 200
        assert wait_for(lambda: len(smtp.inbox.to(READER)) == 2), "no acknowledgement"
        assert "We got your feedback" in smtp.inbox.to(READER)[1]["Subject"]
        status, _ = call(f"{base}/api/v1/tasks/{task_id}/transitions",
                         {"action": "resolve", "fixed_in_version": "0.1",
                          "fix_url": "https://git.example/c/1"}, token)  # fmt: skip
        assert status == 200
        assert wait_for(lambda: len(smtp.inbox.to(READER)) == 3), "no resolution note"
        note = smtp.inbox.to(READER)[2].get_payload()
        assert f"{base}/0.1/quickstart/" in note
        loop = [
            p
            for p in psutil.Process(server.pid).children()
            if "sweep_loop" in " ".join(p.cmdline())
        ]
        assert len(loop) == 1
    finally:
        server.terminate()
        server.wait(timeout=20)
        smtp.stop()
    assert server.returncode == 0
    assert wait_for(lambda: not loop[0].is_running() or loop[0].status() == "zombie", 10)
