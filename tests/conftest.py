"""Fixtures that build the real thing, small: apps on temporary stores, a published site in
a temporary git repository, live gunicorn servers on 127.0.0.1, PostgreSQL and Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from feedback_api import create_app
from feedback_api.config import load_settings
from feedback_api.run.serve import gunicorn_args
from feedback_api.store import upgrade
from tests import services
from tideway_site import publish

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Writer",
    "GIT_AUTHOR_EMAIL": "writer@example.invalid",
    "GIT_COMMITTER_NAME": "Test Writer",
    "GIT_COMMITTER_EMAIL": "writer@example.invalid",
}

TEST_SECRET = "test-secret-" + "x" * 40

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def run_git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout.strip()  # fmt: skip


def make_docs_repo(dest: Path) -> Path:
    """A git repository holding a copy of this project's docs sources, one commit."""
    dest.mkdir(parents=True)
    for name in ("docs", "overrides"):
        shutil.copytree(ROOT / name, dest / name)
    for name in ("mkdocs.yml", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    run_git(dest, "init", "-q", "-b", "main")
    run_git(dest, "add", "-A")
    run_git(dest, "commit", "-q", "-m", "docs")
    return dest


@dataclass
class PublishedSite:
    repo: Path
    site_dir: Path
    branch: str
    current: str  # the working tree's version (alias latest)
    older: str  # published from a release tag


# The markers follow the fixtures: a test is marked by the services its fixtures start, so that
# `make test-fast` (-m "not postgres and not redis and not browser and not slow") needs none
# of them. Tests that start such a thing themselves carry the marker explicitly.
POSTGRES_FIXTURES = {"pg_server", "pg_url"}
REDIS_FIXTURES = {"redis_url", "redis_server", "redis_proc", "redisdb", "redisdb_async"}
BROWSER_FIXTURES = {"browser"}
SLOW_FIXTURES = {"live_server"}  # a gunicorn process per test


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        # A fixture parametrized over the stores (store_url and its kind) fetches PostgreSQL
        # with request.getfixturevalue under the param "postgres": fixturenames cannot see it.
        params = {p for p in callspec.params.values() if isinstance(p, str)} if callspec else set()
        if names & POSTGRES_FIXTURES or "postgres" in params:
            item.add_marker(pytest.mark.postgres)
        if names & REDIS_FIXTURES:
            item.add_marker(pytest.mark.redis)
        if names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if names & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def published_site(tmp_path_factory) -> PublishedSite:
    """Two versions published with mike: a tagged release, and the working tree as latest."""
    base = tmp_path_factory.mktemp("published")
    repo = make_docs_repo(base / "repo")
    run_git(repo, "tag", "v0.0.9")
    page = repo / "docs" / "quickstart.md"
    page.write_text(page.read_text() + "\n<!-- edited after the 0.0.9 release -->\n")
    run_git(repo, "commit", "-qam", "edit after release")
    built = publish.publish_all(repo, branch="tideway-site", log=lambda _msg: None)
    current = publish.project_version(repo)
    assert built == ["0.0.9", current]
    site_dir = base / "site"
    publish.export(repo, "tideway-site", site_dir)
    return PublishedSite(repo, site_dir, "tideway-site", current, "0.0.9")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite store brought to head once a session: each test's store is a copy of it."""
    path = tmp_path_factory.mktemp("migrated") / "feedback.sqlite3"
    upgrade(f"sqlite:///{path}")
    # The engine is gone, so the WAL was checkpointed into the file: the file is the store.
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    return path


@pytest.fixture
def sqlite_url(tmp_path, migrated_sqlite) -> str:
    """A fresh store of its own, at head: a copy of the session's migrated one (migrating
    each test's store again cost 0.1-0.5 s a test)."""
    path = tmp_path / "feedback.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_server():
    with services.postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server) -> str:
    url = pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request) -> str:
    """Run a test on both stores (PostgreSQL through the session's throwaway server)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def app(store_url, published_site):
    app = create_app(
        {
            "database_url": store_url,
            "site_dir": published_site.site_dir,
            "secret_key": TEST_SECRET,
        }
    )
    app.config["TESTING"] = True
    yield app
    app.extensions["store"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def count_rows(url: str, table: str = "feedback", where: str = "true") -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()
    finally:
        engine.dispose()


class LiveServer:
    """gunicorn serving feedback_api.wsgi on a free port of 127.0.0.1."""

    def __init__(self, env: dict[str, str], workers: int = 2):
        self.port = services.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "TIDEWAY_SECRET_KEY": TEST_SECRET,
            **env,
            "TIDEWAY_PORT": str(self.port),
        }
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    def start(self) -> LiveServer:
        settings = load_settings(port=self.port, workers=self.workers)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *gunicorn_args(settings)],
            env=self.env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        services.wait_for_port(self.port, proc=self.proc)
        # The master listens before its workers have imported the app: wait for an answer.
        services.wait_for_http(f"{self.url}/healthz", proc=self.proc)
        return self

    def stop(self) -> None:
        """SIGKILL the whole process group: master, workers, writer and its supervisor.

        How the product stops is tests/test_serve.py's subject, not every test's teardown:
        a quick stop (SIGINT) took 1.5-3 s a server, one after another (workers, writer,
        supervisor, master), and a graceful one up to 5 s more. An acknowledged submission
        is on disk either way, which the SIGKILL tests of test_ingest_live.py hold.
        """
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    kill = stop  # where a test kills on purpose, it says so


@pytest.fixture
def live_server(published_site, sqlite_url):
    server = LiveServer(
        {"TIDEWAY_DATABASE_URL": sqlite_url, "TIDEWAY_SITE_DIR": str(published_site.site_dir)}
    ).start()
    server.database_url = sqlite_url
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    services.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=services.CHROMIUM, headless=True, args=services.CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def output_dir(request) -> Path:
    """Where a test leaves what a person should look at (screenshots)."""
    path = OUTPUT / request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
    path.mkdir(parents=True, exist_ok=True)
    return path
