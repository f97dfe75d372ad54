"""Slow and idle clients do not stall the served product (issue 16, finding 6).

500 connections to the server that `make serve` runs (`gunicorn_args`): half send a
request's headers a line at a time and never finish them, half send nothing. Meanwhile a
docs page, a submission and the dashboard's sign-in page must each answer promptly, and a
client that drips its headers must be dropped after the header deadline (then it connects
again, as an attacker would, so the 500 stay open all along).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

from feedback_api.config import load_settings
from feedback_api.run.serve import HEADER_TIMEOUT_SECONDS, gunicorn_args
from tests.conftest import ROOT, LiveServer, count_rows

SLOW_CONNECTIONS = 500
PROMPT = 2.0  # seconds a request may take while the slow connections are open
WATCH = HEADER_TIMEOUT_SECONDS + 3.0  # long enough to see drippers dropped and back


@pytest.fixture
def fd_room():
    """Room for the 500 sockets here and in the server (which inherits this limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class SlowClients:
    """Keeps `count` connections open: odd ones drip header lines, even ones stay silent.
    A connection the server closes is opened again; `dropped` counts the drippers closed."""

    def __init__(self, port: int, count: int):
        self.port = port
        self.count = count
        self.dropped = 0
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        assert self.opened.wait(30), "could not open the slow connections"
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()

    def _open(self, drips: bool) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if drips:
            sock.sendall(b"GET /latest/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, drips)

    def _run(self) -> None:
        for n in range(self.count):
            self._open(drips=bool(n % 2))
        self.opened.set()
        next_drip = time.monotonic()
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                try:
                    closed = key.fileobj.recv(4096) == b""
                except OSError:
                    closed = True
                if closed:  # the server gave up on it: connect again
                    self._selector.unregister(key.fileobj)
                    key.fileobj.close()
                    self.dropped += key.data
                    self._open(drips=key.data)
            if time.monotonic() >= next_drip:
                next_drip += 0.5
                for key in list(self._selector.get_map().values()):
                    if key.data:
                        try:
                            key.fileobj.send(b"X-Drip: 1\r\n")
                        except OSError:
                            pass  # closed by the server: seen as readable above


def timed(port: int, method: str, path: str, body: dict | None = None) -> tuple[float, int]:
    """(seconds, status) of one request on a new connection, as a browser's first one."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROMPT + 3)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        response = conn.getresponse()
        response.read()
        return time.monotonic() - start, response.status
    except TimeoutError:
        return time.monotonic() - start, 0
    finally:
        conn.close()


def test_500_slow_or_idle_connections_do_not_stall_docs_api_or_dashboard(fd_room, live_server):
    port = live_server.port
    with SlowClients(port, SLOW_CONNECTIONS) as slow:
        time.sleep(1.0)  # the server has accepted them and, before, gave each a thread
        slowest: dict[str, float] = {}
        deadline = time.monotonic() + WATCH
        while time.monotonic() < deadline:
            rating = {"page": "quickstart/", "version": "0.1", "rating": 1,
                      "idempotency_key": uuid.uuid4().hex}  # fmt: skip
            for name, method, path, body, status in (
                ("docs page", "GET", "/latest/quickstart/", None, 200),
                ("submission", "POST", "/api/v1/feedback", rating, 201),
                ("sign-in page", "GET", "/dashboard/", None, 200),
            ):
                seconds, got = timed(port, method, path, body)
                assert got == status and seconds < PROMPT, (
                    f"{name} with {SLOW_CONNECTIONS} slow connections open: status {got} "
                    f"after {seconds:.1f} s"
                )
                slowest[name] = max(slowest.get(name, 0.0), seconds)
            time.sleep(0.5)
        dropped = slow.dropped
    # Every dripper opened at the start was closed at its header deadline, and again later.
    assert dropped >= SLOW_CONNECTIONS // 2, f"only {dropped} header drippers were dropped"
    print(f"slowest answers with {SLOW_CONNECTIONS} slow connections: {slowest}")


@pytest.mark.parametrize("page", ["deploy.md", "api-deployment.md"])
def test_the_documented_gunicorn_commands_protect_as_make_serve_does(page):
    """The commands operators copy run the same worker and limits as `make serve`."""
    text = (ROOT / "docs" / "operations" / page).read_text()
    commands = [
        block.replace("\\\n", " ")
        for block in re.findall(r"```\w*\n(.*?)```", text, re.S)
        if "-m gunicorn" in block
    ]
    assert commands, f"no gunicorn command in {page}"
    served = gunicorn_args(load_settings())
    for flag in ("--worker-class", "--worker-connections", "--keep-alive"):
        value = served[served.index(flag) + 1]
        for command in commands:
            assert f"{flag} {value} " in command, f"{page}: {flag} is not {value}"


def test_psycopg_waits_cooperatively_in_a_worker():
    """psycopg chooses how it waits for PostgreSQL when it is imported: after gevent has
    patched the worker, a wait that lets the worker's other connections run. Imported by
    the master before its workers are forked, it would keep the blocking wait, and one
    query would hold every connection of the worker."""
    master = (
        "import sys\n"
        "from feedback_api.config import load_settings\n"
        "from feedback_api.run import gunicorn_hooks, deploy_check, serve\n"
        "deploy_check.run_checks(load_settings())\n"
        "assert 'psycopg' not in sys.modules, 'the master imported psycopg'\n"
    )
    worker = (
        "from gevent import monkey\n"
        "monkey.patch_all()\n"
        "from psycopg import waiting\n"
        "assert waiting.wait is not waiting.wait_c, waiting.wait\n"
    )
    env = {"TIDEWAY_DATABASE_URL": "postgresql+psycopg://tideway:pw@127.0.0.1:1/tideway"}
    for code in (master, worker):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
            env={**os.environ, **env}, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


def drip_body(port: int, head: str, body: bytes, pause: float, seconds: float) -> bytes:
    """Send `head`, then `body` a byte every `pause`; what the server answered meanwhile."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=seconds)
    try:
        sock.sendall(head.encode() + b"\r\n")
        deadline = time.monotonic() + seconds
        answer = b""
        for byte in body:
            if time.monotonic() > deadline:
                break
            try:
                sock.send(bytes([byte]))
            except OSError:
                break  # closed by the server
            sock.settimeout(pause)
            try:
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            if answer:
                break
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                got = sock.recv(65536)
                if not got:
                    break
                answer += got
        except TimeoutError:
            pass
        return answer
    finally:
        sock.close()


def test_a_body_sent_a_byte_at_a_time_is_refused_at_its_deadline(published_site, sqlite_url):
    """gunicorn times a request's headers, not its body: a client dripping a body held its
    connection for as long as it liked, and enough of them filled every worker's."""
    server = LiveServer(
        {"TIDEWAY_DATABASE_URL": sqlite_url, "TIDEWAY_SITE_DIR": str(published_site.site_dir),
         "TIDEWAY_BODY_TIMEOUT_SECONDS": "1"}
    ).start()  # fmt: skip
    try:
        payload = {"page": "quickstart/", "version": published_site.current, "rating": 1,
                   "idempotency_key": uuid.uuid4().hex}  # fmt: skip
        rating = json.dumps(payload).encode()
        for framing in (f"Content-Length: {len(rating)}", "Transfer-Encoding: chunked"):
            body = (
                rating if "Length" in framing else b"%x\r\n%s\r\n0\r\n\r\n" % (len(rating), rating)
            )
            head = (f"POST /api/v1/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Type: application/json\r\n{framing}\r\n")  # fmt: skip
            started = time.monotonic()
            answer = drip_body(server.port, head, body, pause=0.05, seconds=8)
            took = time.monotonic() - started
            status, _, rest = answer.partition(b"\r\n")
            assert status.startswith(b"HTTP/1.1 408 "), (framing, answer[:300])
            assert b'"code": "request_timeout"' in rest or b'"code":"request_timeout"' in rest
            assert took < 4, f"{framing}: answered after {took:.1f} s"
        # A dashboard form dripped the same way: the dashboard's own page, not JSON.
        form = b"username=ana&password=" + b"x" * 200
        head = ("POST /dashboard/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(form)}\r\n")  # fmt: skip
        answer = drip_body(server.port, head, form, pause=0.05, seconds=8)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
        assert b"text/html" in answer.partition(b"\r\n\r\n")[0]
        # Sent promptly, the same submission is stored.
        seconds, status = timed(server.port, "POST", "/api/v1/feedback", json.loads(rating))
        assert status == 201
        assert count_rows(sqlite_url) == 1  # and nothing of the late ones
    finally:
        server.stop()
