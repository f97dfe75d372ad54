"""Unsafe defaults do not pass silently (issue 16, findings 10 and 8's log noise): secrets
stay out of configuration errors, the SQLite store is owner-only, `check --deploy` names
what is unsafe, and a refused submission is one log line, not a traceback."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import stat
import subprocess
import sys

import pytest

from feedback_api import create_app
from feedback_api.config import ConfigError, load_settings
from feedback_api.run import deploy_check, gunicorn_hooks
from feedback_api.store import Store, upgrade
from tests.conftest import ROOT, TEST_SECRET

VENV_BIN = os.path.dirname(sys.executable)
RANDOM_SECRET = "Zq8-vK2pLr5TnW9xYb3cHd7fGj1mAs4eUo6iR0tE"

# Each rejected for its own reason; each carries the secret "hunter2".
BAD_SECRETS = {
    "TIDEWAY_DATABASE_URL": "postgresql+psycopg://u:hunter2@db.example.com:port/x",
    "TIDEWAY_SECRET_KEY": "hunter2",
    "TIDEWAY_RATE_LIMIT_STORAGE": "mongodb://u:hunter2@cache.example.com/0",
    "TIDEWAY_SITE_URL": "ftp://u:hunter2@docs.example.com/",
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDEWAY_", "FLASK_"))}
    return {**env, "PATH": f"{VENV_BIN}:{env['PATH']}", **extra}


@pytest.mark.parametrize("name", sorted(BAD_SECRETS))
def test_a_configuration_error_names_a_secret_setting_but_never_shows_it(name, monkeypatch):
    monkeypatch.setenv(name, BAD_SECRETS[name])
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert name in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_other_rejected_values_are_still_shown(monkeypatch):
    monkeypatch.setenv("TIDEWAY_DATABASE_URL", "mysql://u:hunter2@db.example.com/x")
    message = str(pytest.raises(ConfigError, load_settings).value)
    assert "mysql://u:***@db.example.com/x" in message and "hunter2" not in message


@pytest.mark.parametrize("name", sorted(BAD_SECRETS))
def test_serve_and_flask_do_not_print_a_rejected_secret(name, tmp_path):
    env = clean_env(**{name: BAD_SECRETS[name]})
    serve = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "serve"), "--root", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert serve.returncode == 2
    assert name in serve.stderr
    flask = subprocess.run(
        ["flask", "--app", "feedback_api", "check", "--deploy"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # The configuration's message, as click prints an error: no traceback to read through.
    assert flask.returncode == 1
    assert name in flask.stderr and "Invalid configuration" in flask.stderr
    assert "Traceback" not in flask.stderr
    for out in (serve.stdout, serve.stderr, flask.stdout, flask.stderr):
        assert "hunter2" not in out


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_store_and_its_wal_are_created_owner_only(tmp_path):
    old = os.umask(0o022)  # the usual umask: files 0644
    try:
        path = tmp_path / "var" / "feedback.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        assert mode(path) == 0o600
        store = Store(url)
        try:
            with store.transaction() as session:
                session.execute(__import__("sqlalchemy").text("SELECT 1 FROM feedback"))
            companions = [p for p in path.parent.iterdir() if p != path]
            assert {p.name[len(path.name) :] for p in companions} >= {"-wal", "-shm"}
            for companion in companions:
                assert mode(companion) == 0o600, companion
        finally:
            store.dispose()
    finally:
        os.umask(old)


def test_migrating_makes_an_existing_readable_store_owner_only(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    settings = load_settings(database_url=f"sqlite:///{path}", workers=1)
    finding = deploy_check.readable_sqlite_file(settings, {})
    assert finding is not None and finding.id == "tideway.E007" and "644" in finding.message
    upgrade(f"sqlite:///{path}")
    assert mode(path) == 0o600
    assert deploy_check.readable_sqlite_file(settings, {}) is None


SAFE = {
    "host": "127.0.0.1",
    "workers": 1,
    "secret_key": RANDOM_SECRET,
    "database_url": "sqlite:///does-not-exist/feedback.sqlite3",
}


@pytest.mark.parametrize(
    ("overrides", "env", "found"),
    [
        ({"host": "0.0.0.0"}, {}, "tideway.W001"),
        ({"host": "::"}, {}, "tideway.W001"),
        ({"smtp_username": "mailer"}, {}, "tideway.E002"),
        ({"allowed_origins": "https://a.example,http://docs.example.com"}, {}, "tideway.W003"),
        ({"workers": 4, "rate_limit_storage": "memory://"}, {}, "tideway.W004"),
        ({"proxy_count": 1}, {}, "tideway.W005"),
        ({"secret_key": TEST_SECRET}, {}, "tideway.E006"),
        ({"secret_key": "change-me-" + RANDOM_SECRET}, {}, "tideway.E006"),
        ({}, {"FLASK_DEBUG": "1"}, "tideway.E008"),
    ],
)
def test_each_unsafe_setting_is_a_finding(overrides, env, found):
    settings = load_settings(**{**SAFE, **overrides})
    assert [f.id for f in deploy_check.run_checks(load_settings(**SAFE), {})] == []
    ids = [f.id for f in deploy_check.run_checks(settings, env)]
    assert found in ids


@pytest.mark.parametrize(
    "overrides",
    [
        {"host": "0.0.0.0", "public_url": "https://docs.example.com/"},  # TLS in front
        {"smtp_username": "mailer", "smtp_starttls": True},
        {"allowed_origins": "https://docs.example.com"},
        {"workers": 4, "rate_limit_storage": "redis://localhost:6379/0"},
        {"workers": 4},  # machine://, the default: shared by this machine's processes
        {"secret_key": None},  # generated at random into var/secret.key
    ],
)
def test_the_safe_form_of_each_setting_is_no_finding(overrides):
    settings = load_settings(**{**SAFE, **overrides})
    ids = [f.id for f in deploy_check.run_checks(settings, {})]
    assert not [i for i in ids if i in ("tideway.W001", "tideway.E002", "tideway.W003")]
    assert "tideway.W004" not in ids and "tideway.E006" not in ids


def test_check_deploy_prints_a_line_per_finding_and_fails_on_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    base = {**SAFE, "database_url": f"sqlite:///{tmp_path}/f.sqlite3", "site_dir": tmp_path}
    app = create_app({**base, "workers": 2, "rate_limit_storage": "memory://"})
    done = app.test_cli_runner().invoke(args=["check", "--deploy"])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[1].startswith("tideway.W004 ") and " Fix: " in lines[1]
    assert lines[-1].startswith("Deployment check: 0 error(s), 1 warning(s)")

    app = create_app({**base, "smtp_username": "mailer", "host": "0.0.0.0"})
    done = app.test_cli_runner().invoke(args=["check", "--deploy"])
    assert done.exit_code == 1, done.output
    ids = [line.split()[0] for line in done.output.splitlines() if line.startswith("tideway.")]
    assert ids == ["tideway.W001", "tideway.E002", "tideway.W005"]


def checklist_ids() -> list[str]:
    """The ids of the deployment checklist in docs/operations/security.md, in its order."""
    page = (ROOT / "docs" / "operations" / "security.md").read_text()
    checklist = page.split("\n## Deployment checklist\n", 1)[1].split("\n## ", 1)[0]
    return [line.split("`")[1] for line in checklist.splitlines() if line.startswith("| `")]


def test_the_checklist_has_exactly_the_checks_in_their_order(tmp_path):
    # Every id the check can report, read from its source: a new check is in the list
    # whatever makes it fire.
    source = (ROOT / "feedback_api" / "run" / "deploy_check.py").read_text()
    ids = re.findall(r'"(tideway\.[EW]\d{3})"', source)
    assert len(ids) == len(set(ids)) == len(deploy_check.CHECKS)
    assert sorted(checklist_ids()) == sorted(ids)
    # And in the order the check reports them: one setting that trips them all.
    store = tmp_path / "f.sqlite3"
    sqlite3.connect(store).close()
    store.chmod(0o644)
    settings = load_settings(
        host="0.0.0.0", public_url="http://docs.example.com/", smtp_username="m",
        allowed_origins="http://a.example", workers=3, secret_key="x" * 40,
        database_url=f"sqlite:///{store}", rate_limit_storage="memory://",
    )  # fmt: skip
    found = [f.id for f in deploy_check.run_checks(settings, {"FLASK_DEBUG": "1"})]
    assert found == checklist_ids()


@pytest.mark.parametrize("env", [{}, {"TIDEWAY_SMTP_USERNAME": "mailer"}])
def test_the_check_names_the_checklist_with_or_without_findings(tmp_path, env):
    done = subprocess.run(
        ["flask", "--app", "feedback_api", "check", "--deploy"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env=clean_env(**env, TIDEWAY_HOST="127.0.0.1", TIDEWAY_WORKERS="1",
                      TIDEWAY_SECRET_KEY=RANDOM_SECRET,
                      TIDEWAY_DATABASE_URL=f"sqlite:///{tmp_path}/f.sqlite3"),
    )  # fmt: skip
    last = done.stdout.splitlines()[-1]
    assert last.startswith("Deployment check: "), done.stdout + done.stderr
    path, anchor = re.search(r"(docs/\S+\.md)#([a-z-]+)", last).groups()
    headings = re.findall(r"^## (.+)$", (ROOT / path).read_text(), flags=re.M)
    assert anchor in [h.lower().replace(" ", "-") for h in headings], (path, anchor)
    assert path == "docs/operations/security.md" and anchor == "deployment-checklist"


class FakeLog:
    def __init__(self):
        self.lines: list[tuple[str, str]] = []

    def warning(self, msg, *args):
        self.lines.append(("warning", msg % args if args else msg))

    def error(self, msg, *args):
        self.lines.append(("error", msg % args if args else msg))


def test_the_server_logs_the_findings_at_start(monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    server = type("Server", (), {"log": FakeLog()})()
    settings = load_settings(
        **{**SAFE, "workers": 2, "rate_limit_storage": "memory://", "smtp_username": "mailer"}
    )
    gunicorn_hooks._log_deploy_findings(server, settings)
    assert [(level, line.split()[0]) for level, line in server.log.lines] == [
        ("error", "tideway.E002"),
        ("warning", "tideway.W004"),
    ]


@pytest.fixture
def ingest_app(tmp_path, migrated_sqlite):
    site = tmp_path / "site"
    (site / "1.0").mkdir(parents=True)
    (site / "versions.json").write_text(json.dumps([{"version": "1.0", "aliases": ["latest"]}]))
    manifest = {"pages": [{"url": "install/", "title": "Install"}]}
    (site / "1.0" / "feedback-manifest.json").write_text(json.dumps(manifest))
    db = tmp_path / "feedback.sqlite3"
    db.write_bytes(migrated_sqlite.read_bytes())
    app = create_app(
        {
            "database_url": f"sqlite:///{db}",
            "site_dir": site,
            "secret_key": TEST_SECRET,
            "rate_limit_client": "20/minute",
        }
    )
    yield app
    app.extensions["store"].dispose()


def test_a_refused_submission_logs_at_most_one_line_and_no_traceback(ingest_app, caplog):
    client = ingest_app.test_client()
    good = {"page": "install/", "version": "1.0", "rating": 1}
    refusals = [
        dict(data=b"{not json", content_type="application/json"),
        dict(data=b"[" * 15000, content_type="application/json"),
        dict(data=b"x" * 20000, content_type="application/json"),
        dict(data=b"{}", content_type="text/plain"),
        dict(json={**good, "rating": 10**30, "idempotency_key": "k" * 20}),
        dict(json={**good, "page": "nope/", "idempotency_key": "k" * 20}),
        dict(json={**good, "version": "9.9", "idempotency_key": "k" * 20}),
        dict(json={**good, "unknown": 1, "idempotency_key": "k" * 20}),
    ]
    for kwargs in refusals:
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            response = client.post("/api/v1/feedback", **kwargs)
        assert 400 <= response.status_code < 500, kwargs
        records = [r for r in caplog.records if r.levelno >= logging.INFO]
        assert len(records) <= 1, [r.getMessage() for r in records]
        for record in records:
            assert record.exc_info is None and not record.exc_text, record.getMessage()
            assert "Traceback" not in caplog.text
    # And a client over its limit: 429s, none of them a traceback either.
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        statuses = [
            client.post("/api/v1/feedback", json={**good, "idempotency_key": f"{i:020d}"})
            for i in range(25)
        ]
    assert 429 in [r.status_code for r in statuses]
    assert not [r for r in caplog.records if r.exc_info], caplog.text
