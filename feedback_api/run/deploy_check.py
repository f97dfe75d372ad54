"""The deployment check: settings that work but are unsafe on a server others can reach.

Plain functions over the settings (and, for the store's file and debug mode, the file system
and the environment); `flask --app feedback_api check --deploy` prints them and the server
logs them at start (feedback_api/run/gunicorn_hooks.py). The deployment checklist of
docs/operations/security.md has one item per check, in this order: keep the two together
(tests/test_deploy_check.py holds them equal).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from feedback_api.config import Settings

LOOPBACK = ("127.", "::1", "[::1]", "localhost")
# Where each finding is explained, with what to do; the summary line names it.
CHECKLIST = "docs/operations/security.md#deployment-checklist"


@dataclass(frozen=True)
class Finding:
    id: str  # tideway.E001 (an error: do not serve) or tideway.W001 (a warning)
    message: str
    fix: str

    @property
    def is_error(self) -> bool:
        return ".E" in self.id

    def line(self) -> str:
        return f"{self.id} {self.message} Fix: {self.fix}"


def _is_loopback(host: str) -> bool:
    return host.startswith(LOOPBACK)


def plain_http_on_every_interface(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    if _is_loopback(settings.host) or not (settings.public_url or "").startswith("http://"):
        return None
    return Finding(
        "tideway.W001",
        f"The server listens on {settings.host or 'every interface'} and readers reach it over "
        f"plain HTTP ({settings.public_url}): sign-in passwords and session cookies cross the "
        "network unencrypted.",
        "listen on 127.0.0.1 behind a TLS proxy (TIDEWAY_HOST=127.0.0.1, "
        "TIDEWAY_PROXY_COUNT=1) and set TIDEWAY_PUBLIC_URL to its https:// address.",
    )


def smtp_credentials_without_tls(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    if not settings.smtp_username or settings.smtp_starttls:
        return None
    return Finding(
        "tideway.E002",
        f"An SMTP user name is set ({settings.smtp_username}) but TIDEWAY_SMTP_STARTTLS is off: "
        "the SMTP password is sent unencrypted.",
        "set TIDEWAY_SMTP_STARTTLS=true (and the server's submission port, usually "
        "TIDEWAY_SMTP_PORT=587).",
    )


def http_allowed_origins(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    plain = [o for o in settings.allowed_origins if o.startswith("http://")]
    if not plain:
        return None
    return Finding(
        "tideway.W003",
        f"TIDEWAY_ALLOWED_ORIGINS has plain-HTTP origins ({', '.join(plain)}): a page served "
        "on them can be altered on its way to the reader and still call the API.",
        "list only https:// origins in TIDEWAY_ALLOWED_ORIGINS.",
    )


def per_process_rate_limits(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    # machine:// (the default) and redis:// share the counters between processes; only
    # memory:// counts in each process alone (feedback_api/http/limits.py).
    if settings.workers <= 1 or not settings.rate_limit_storage.startswith("memory://"):
        return None
    return Finding(
        "tideway.W004",
        f"Rate-limit counters live in each process's memory (TIDEWAY_RATE_LIMIT_STORAGE="
        f"memory://) and {settings.workers} workers serve: a client gets up to "
        f"{settings.workers} times each limit.",
        "unset TIDEWAY_RATE_LIMIT_STORAGE (the default, machine://, shares the counters "
        "between the processes of this machine), or set it to redis://host:6379/0 when "
        "several machines serve.",
    )


def public_metrics(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    # /metrics answers anyone who reaches it (feedback_api/http/metrics.py): it is private
    # only while nothing but this machine reaches the server.
    if _is_loopback(settings.host) and not settings.proxy_count:
        return None
    where = "a proxy forwards to it" if _is_loopback(settings.host) else "it listens"
    return Finding(
        "tideway.W005",
        f"/metrics answers anyone who reaches the server ({where} on {settings.host}); it "
        "needs no credential and shows traffic by route and status.",
        "refuse /metrics at the proxy (nginx: `location = /metrics { deny all; }`) or "
        "listen on 127.0.0.1 only, and scrape from this machine.",
    )


def weak_secret_key(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    key = settings.secret_key
    if key is None:
        return None  # generated: 64 random characters in var/secret.key
    if len(set(key)) >= 16 and not any(
        word in key.lower() for word in ("secret", "change", "example", "password")
    ):
        return None
    return Finding(
        "tideway.E006",
        "TIDEWAY_SECRET_KEY looks chosen, not random (few distinct characters, or a word like "
        "'secret' or 'change'): amend tokens and client hashes derived from it can be guessed.",
        "set it to a random value: `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        ", the same on every API process.",
    )


def readable_sqlite_file(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    exposed = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(url.database + suffix)
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if mode & 0o077:
            exposed.append(f"{path} ({mode & 0o777:o})")
    if not exposed:
        return None
    return Finding(
        "tideway.E007",
        "The SQLite store (password hashes, readers' addresses) can be read by other users "
        f"of this machine: {', '.join(exposed)}.",
        "`chmod 600` the files, or run `flask --app feedback_api db upgrade`, which does.",
    )


def debug_mode(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    if env.get("FLASK_DEBUG", "").lower() not in ("1", "true", "yes", "on"):
        return None
    return Finding(
        "tideway.E008",
        "FLASK_DEBUG is on: an error page can show source code and settings, and the "
        "debugger runs code sent to it.",
        "unset FLASK_DEBUG on the server.",
    )


# In the order of the checklist in docs/operations/security.md.
CHECKS: tuple[Callable[[Settings, Mapping[str, str]], Finding | None], ...] = (
    plain_http_on_every_interface,
    smtp_credentials_without_tls,
    http_allowed_origins,
    per_process_rate_limits,
    public_metrics,
    weak_secret_key,
    readable_sqlite_file,
    debug_mode,
)


def run_checks(settings: Settings, env: Mapping[str, str] | None = None) -> list[Finding]:
    env = os.environ if env is None else env
    return [f for f in (check(settings, env) for check in CHECKS) if f is not None]


def report(findings: Iterable[Finding]) -> list[str]:
    """One line per finding, then a summary line."""
    findings = list(findings)
    errors = sum(f.is_error for f in findings)
    lines = [f.line() for f in findings]
    if not findings:
        lines.append(f"Deployment check: no findings; the checklist is {CHECKLIST}.")
    else:
        lines.append(
            f"Deployment check: {errors} error(s), {len(findings) - errors} warning(s); "
            f"see {CHECKLIST}."
        )
    return lines
