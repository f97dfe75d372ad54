"""`make serve`: prepare everything (migrations, published docs), then run gunicorn.

Every step is idempotent, so running it twice in a row is safe and quick the second time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from feedback_api.config import ConfigError, load_settings, resolve_secret, served_url
from feedback_api.review.core.policy import load_owners, load_policy
from feedback_api.store import upgrade
from tideway_site import publish

from .gunicorn_hooks import SWEEP_FLAG

# Seconds a client has to send a request's line and headers (and an idle kept-alive
# connection stays open): a browser sends them in one packet.
HEADER_TIMEOUT_SECONDS = 5


def prepare(root: Path, settings) -> None:
    upgrade(settings.database_url)
    print("Database migrated.", flush=True)
    # A policy or owners file with a mistake stops start-up here, naming it (ConfigError).
    load_policy(settings.triage_policy_file)
    load_owners(settings.owners_file)
    built = publish.publish_all(root, branch=settings.publish_branch)
    if not built:
        print("Docs unchanged since the last publish; nothing rebuilt.", flush=True)
    site_dir = settings.site_dir if settings.site_dir.is_absolute() else root / settings.site_dir
    publish.export(root, settings.publish_branch, site_dir)


def flask_command() -> str:
    """`flask` of the environment this runs in, as a person types it from the repository."""
    flask = Path(sys.executable).parent / "flask"
    if not flask.exists():
        return "flask"
    try:
        return str(flask.relative_to(Path.cwd()))
    except ValueError:
        return str(flask)


def guide(settings, url: str) -> list[str]:
    """What a newcomer needs next: the dashboard, its first account, where mail goes."""
    from sqlalchemy import func, select

    from feedback_api.store import Store
    from feedback_api.store.models import User

    flask = f"{flask_command()} --app feedback_api"
    store = Store(settings.database_url)
    try:
        with store.transaction() as session:
            accounts = session.scalar(select(func.count()).where(User.active.is_(True)))
    finally:
        store.dispose()
    lines = [f"Reviewers' dashboard: {url}dashboard/"]
    if accounts:
        lines.append(f"  {accounts} active account(s); `{flask} users list` lists them.")
    else:
        lines += [
            "  No reviewer account exists yet. Make the first admin from this directory (the "
            "password is read from standard input; `read -rs PASSWORD` sets it unseen):",
            f"  printf '%s\\n' \"$PASSWORD\" | {flask} users create admin --email "
            f"admin@example.com --role admin --team {settings.default_team} --password-stdin",
        ]
    lines.append(f"Links in mail start with {settings.public_url}")
    if not settings.smtp_host:
        lines += [
            "Mail: no SMTP server is set (TIDEWAY_SMTP_HOST), so mail waits in the outbox.",
            f"  Read it with: {flask} mail outbox",
        ]
    elif settings.sweep_interval_seconds <= 0:
        lines.append(
            f"Mail: to {settings.smtp_host}:{settings.smtp_port} when `{flask} sla sweep` runs "
            "(TIDEWAY_SWEEP_INTERVAL_SECONDS=0)."
        )
    else:
        lines.append(
            f"Mail: sent to {settings.smtp_host}:{settings.smtp_port} every "
            f"{settings.sweep_interval_seconds} s."
        )
    return lines


def gunicorn_args(settings, *, sweep: bool = False) -> list[str]:
    """The server configuration `make serve` uses (and bench/ measures).

    The master starts the writer process (`TIDEWAY_WRITER_PROCESS`) and, with `sweep`, the
    SLA sweep loop (`TIDEWAY_SWEEP_INTERVAL_SECONDS`) beside the workers.
    """
    return [
        "--config",
        "python:feedback_api.run.gunicorn_hooks",
        *(("--env", f"{SWEEP_FLAG}=1") if sweep else ()),
        "--bind",
        f"{settings.host}:{settings.port}",
        "--workers",
        str(settings.workers),
        # One greenlet per connection, not one thread: a client that is slow to send, or
        # sends nothing, holds a greenlet, while a thread pool of 8 was taken by 8 of them
        # and stalled every page and the API. Requests waiting on the writer process or on
        # PostgreSQL (psycopg waits cooperatively under gevent) still share commits.
        "--worker-class",
        "gevent",
        "--worker-connections",
        str(settings.worker_connections),
        # The gevent worker bounds the whole read of a request's line and headers, and a
        # kept-alive connection's wait for its next request, by this many seconds: a client
        # dripping its headers is dropped, not served for ever.
        "--keep-alive",
        str(HEADER_TIMEOUT_SECONDS),
        "--graceful-timeout",
        "5",
        # gunicorn's control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl): a
        # second server on the machine takes it over, and either one removes it on exit.
        "--no-control-socket",
        "feedback_api.wsgi:application",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/serve", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the docs repository")
    parser.add_argument("--prepare-only", action="store_true", help="set up, do not serve")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    os.chdir(root)  # relative settings (var/...) are relative to the repository
    try:
        settings = load_settings()
        prepare(root, settings)
    except (ConfigError, publish.PublishError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.prepare_only:
        return 0
    url = served_url(settings.host, settings.port)
    print(f"Serving the docs and the feedback API on {url} (Ctrl-C stops).", flush=True)
    print("\n".join(guide(settings, url)), flush=True)
    resolve_secret(settings)  # once, before the workers start, so they share it
    # Metrics add up across worker processes through files in this directory.
    metrics_dir = root / "var" / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    gunicorn = [sys.executable, "-m", "gunicorn", *gunicorn_args(settings, sweep=True)]
    # exec: gunicorn becomes this process, so Ctrl-C and SIGTERM reach it directly.
    os.execv(sys.executable, gunicorn)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
