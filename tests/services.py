"""Throwaway services for the test session: PostgreSQL, Redis, Chromium, free ports.

Where a service cannot be had, its tests skip with the reason, except under CI=true,
where such a skip is a failure (CI must run every test).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("TIDEWAY_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(reason: str):
    """Skip, or under CI=true fail: CI runs every test or goes red."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and a required service is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def wait_for_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None):
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer 200 after {timeout}s")


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, owned by `postgres` when we are root
    (initdb and postgres refuse to run as root)."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tideway-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *cmd: str, **kw) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run(prefix + list(cmd), capture_output=True, text=True, **kw)

    def start(self) -> None:
        if not self.data.exists():
            done = self._run(
                str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C",
            )  # fmt: skip
            if done.returncode:
                raise RuntimeError(f"initdb failed: {done.stderr}")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on"
        done = self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts,
            "-l", str(self.dir / "log"), "-w", "-t", "30", "start",
        )  # fmt: skip
        if done.returncode:
            log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_server():
    if not (PG_BIN / "initdb").exists():
        unavailable(f"PostgreSQL server binaries not found in {PG_BIN}")
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is not installed (Debian package chromium)")


def wait_in_page(page, expression: str, timeout: float = 10.0) -> None:
    """Wait until the JavaScript `expression` is true in `page`.

    Playwright's wait_for_function checks once, then polls inside the page with eval(),
    which the product's CSP refuses (no 'unsafe-eval'): a condition not true at once failed
    with an EvalError. page.evaluate runs from outside the page, where the CSP does not apply.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout} s: {expression}")
        page.wait_for_timeout(50)


def require_redis() -> str:
    path = shutil.which("redis-server")
    if not path:
        unavailable("redis-server is not installed (Debian package redis-server)")
    return path


def routed_task(database_url: str, feedback_id: int, timeout: float = 10.0) -> int | None:
    """The task a submission landed on, once the writer process has routed it (it routes
    just after answering the POST, whose `task_id` is then null)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                routed, task_id = conn.execute(
                    text("SELECT routed, task_id FROM feedback WHERE id = :id"), {"id": feedback_id}
                ).one()
            if routed:
                return task_id
            if time.monotonic() > deadline:
                raise TimeoutError(f"submission {feedback_id} not routed within {timeout} s")
            time.sleep(0.05)
    finally:
        engine.dispose()
