"""What `make serve` tells a newcomer, followed word for word on a fresh checkout: the
dashboard's address, the command that makes the first admin, where mail goes and how to read
the mail that waits in the outbox; then, with an SMTP server set, that the mail leaves."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.request
import uuid

from tests import services
from tests.conftest import make_docs_repo
from tests.test_mail_loop import SmtpServer
from tests.test_serve import get, start_serve

READER = "reader@example.com"


class Printed:
    """serve's output, read as it comes (a thread), so a missing line fails, not hangs."""

    def __init__(self, proc):
        self.proc = proc
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, last: str, timeout: float = 30) -> list[str]:
        """The lines up to and including the first one containing `last`."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            assert line is not None, f"serve did not print {last!r}:\n" + "\n".join(seen)
            seen.append(line)
            if last in line:
                return seen

    def stop(self) -> None:
        """Ctrl-C, as in tests/test_serve.py: it must end cleanly."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=20)
        self.thread.join(timeout=10)
        assert self.proc.returncode == 0


def shell(command: str, repo, env, stdin: str | None = None) -> str:
    """A printed command, pasted into a shell in the repository."""
    done = subprocess.run(
        ["bash", "-c", command], cwd=repo, env=env, input=stdin,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
    return done.stdout


def test_serve_says_where_the_dashboard_is_who_can_sign_in_and_where_mail_goes(tmp_path):
    repo = make_docs_repo(tmp_path / "repo")
    port = services.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEWAY_")}
    env["TIDEWAY_PORT"] = str(port)  # as `make serve PORT=...` exports it
    base = f"http://127.0.0.1:{port}/"

    printed = Printed(start_serve(repo, env))
    try:
        lines = printed.until("Read it with:")
        said = "\n".join(lines)
        assert f"Reviewers' dashboard: {base}dashboard/" in lines
        assert get(f"{base}dashboard/")[0] == 200
        assert "No reviewer account exists yet" in said
        [make_admin] = [ln.strip() for ln in lines if "users create" in ln]
        assert make_admin.startswith("printf '%s\\n' \"$PASSWORD\" | ")
        assert "--role admin" in make_admin and make_admin.endswith("--password-stdin")
        assert f"Links in mail start with {base}" in lines
        assert "no SMTP server is set (TIDEWAY_SMTP_HOST), so mail waits in the outbox" in said
        read_outbox = lines[-1].split("Read it with:", 1)[1].strip()

        # The first admin, made with the printed command as printed.
        made = shell(make_admin, repo, {**env, "PASSWORD": "a long first password 1"})
        assert "Created admin admin" in made

        # A reader asks to be told; no SMTP server: the printed command shows the mail.
        request = urllib.request.Request(
            f"{base}api/v1/feedback",
            data=json.dumps({"page": "quickstart/", "version": "latest", "rating": 0,
                             "email": READER, "notify": True,
                             "idempotency_key": uuid.uuid4().hex}).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        waiting = shell(read_outbox, repo, env)
        assert "No SMTP server is set (TIDEWAY_SMTP_HOST)" in waiting
        # A new address: what waits is the confirmation; the acknowledgement waits for it.
        assert f"To: {READER}" in waiting
        assert "Subject: Confirm that you want mail about this page" in waiting
        assert f"{base}api/v1/confirm/" in waiting
        assert f"{base}0.1/quickstart/" in waiting and f"{base}api/v1/unsubscribe/" in waiting
        assert "1 mail(s) waiting in the outbox." in waiting
    finally:
        printed.stop()

    # Again, with an SMTP server: the account is counted, and the waiting mail leaves.
    smtp = SmtpServer(services.free_port()).start()
    env |= {"TIDEWAY_SMTP_HOST": "127.0.0.1", "TIDEWAY_SMTP_PORT": str(smtp.port)}
    printed = Printed(start_serve(repo, env))
    try:
        lines = printed.until("Mail:")
        assert "  1 active account(s); `" in "\n".join(lines)
        assert lines[-1] == f"Mail: sent to 127.0.0.1:{smtp.port} every 60 s."
        deadline = time.monotonic() + 30
        while not smtp.inbox.to(READER) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(smtp.inbox.to(READER)) == 1
        assert "No mail is waiting in the outbox." in shell(read_outbox, repo, env)
    finally:
        printed.stop()
        smtp.stop()
