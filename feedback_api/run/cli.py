"""`flask --app feedback_api ...` commands."""

from __future__ import annotations

import contextlib
import sys

import click
from flask import Flask, current_app

from feedback_api import store


def register(app: Flask) -> None:
    @app.cli.group("db")
    def db() -> None:
        """Database schema commands."""

    @db.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Apply migrations up to REVISION (default: head)."""
        url = current_app.config["SETTINGS"].database_url
        store.upgrade(url, revision)
        click.echo(f"Database at {_redacted(url)} is at {revision}.")

    @app.cli.command("check")
    @click.option("--deploy", is_flag=True, help="Also check what is unsafe on a server.")
    def check(deploy: bool) -> None:
        """Check the configuration; with --deploy, what is unsafe to serve (one line per
        finding: id, problem, fix). Exits 1 when a finding is an error (tideway.E...)."""
        from . import deploy_check

        # The settings were read to build this app: an invalid one never gets here.
        click.echo("Configuration is valid.")
        if not deploy:
            return
        findings = deploy_check.run_checks(current_app.config["SETTINGS"])
        for line in deploy_check.report(findings):
            click.echo(line)
        if any(f.is_error for f in findings):
            sys.exit(1)

    _register_review(app)
    _register_mail(app)


def _register_review(app: Flask) -> None:
    """Users, API tokens, the SLA sweep and mail: thin shells over accounts, sweep, notify."""
    from feedback_api.review import accounts, notify, sweep

    def store():
        return current_app.extensions["store"]

    @contextlib.contextmanager
    def account_change():
        """One transaction; a refusal (unknown user, duplicate name...) ends the command
        with its message and nothing changed."""
        try:
            with store().transaction() as session:
                yield session
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None

    def read_password() -> str:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise click.ClickException("--password-stdin was given but stdin had no password.")
        return password

    @app.cli.group("users")
    def users() -> None:
        """Reviewers and admins."""

    @users.command("create")
    @click.argument("name")
    @click.option("--email", required=True, help="Where warnings and escalations go.")
    @click.option("--role", type=click.Choice(accounts.ROLES), default="reviewer")
    @click.option("--team", required=True, help="The team whose pages they review.")
    @click.option("--tier", type=click.IntRange(1, 3), default=1, help="Support tier 1-3.")
    @click.option("--display-name", default="", help="How the dashboard shows them.")
    @click.option("--password-stdin", is_flag=True, help="Read a dashboard password from stdin.")
    def users_create(name, email, role, team, tier, display_name, password_stdin) -> None:
        """Create the user NAME (a login name). Without --password-stdin they cannot sign
        in to the dashboard (API tokens only) until `users set-password`."""
        password = read_password() if password_stdin else None
        with account_change() as session:
            user = accounts.create_user(
                session,
                name,
                email,
                role=role,
                team=team,
                tier=tier,
                display_name=display_name,
                password=password,
            )
            created = f"Created {user.role} {user.name} (team {user.team}, tier {user.tier})."
        click.echo(created)
        if password is None:
            click.echo(
                f"{name} has no dashboard password yet; set one with "
                f"`{accounts.SET_PASSWORD_COMMAND.replace('NAME', name)}`."
            )

    @users.command("list")
    def users_list() -> None:
        """List users: name, role, team, tier, active, e-mail."""
        from sqlalchemy import select

        from feedback_api.store.models import User

        with store().transaction() as session:
            for user in session.scalars(select(User).order_by(User.name)):
                state = "active" if user.active else "inactive"
                click.echo(
                    f"{user.name}\t{user.role}\t{user.team}\ttier {user.tier}\t"
                    f"{state}\t{user.email}"
                )

    @users.command("set-role")
    @click.argument("name")
    @click.argument("role", type=click.Choice(accounts.ROLES))
    def users_set_role(name, role) -> None:
        """Make NAME a reviewer or an admin."""
        with account_change() as session:
            accounts.set_role(session, name, role)
        click.echo(f"{name} is now {'an' if role == 'admin' else 'a'} {role}.")

    @users.command("set-password")
    @click.argument("name")
    @click.option(
        "--password-stdin", is_flag=True, required=True, help="Read the password from stdin."
    )
    def users_set_password(name, password_stdin) -> None:
        """Set (or reset) NAME's dashboard password; their sessions end."""
        password = read_password()
        with account_change() as session:
            accounts.set_password(session, name, password)
        click.echo(f"{name}'s password is set; every session signed in before it has ended.")

    def simple_user_command(command: str, change, done: str) -> None:
        @users.command(command, help=change.__doc__)
        @click.argument("name")
        def run(name) -> None:
            with account_change() as session:
                change(session, accounts.find_user(session, name))
            click.echo(done.format(name=name))

    def deactivate(session, user):
        """NAME can no longer sign in or use a token, and gets no new tasks."""
        accounts.set_active(session, user.name, False)

    def reactivate(session, user):
        """NAME may sign in and use their unexpired tokens again."""
        accounts.set_active(session, user.name, True)

    def end_sessions(session, user):
        """End every dashboard session of NAME (they sign in again)."""
        accounts.end_sessions(session, user.id)

    simple_user_command(
        "deactivate", deactivate, "{name} is deactivated; their sessions ended, tokens are refused."
    )
    simple_user_command("reactivate", reactivate, "{name} is active again.")
    simple_user_command(
        "end-sessions", end_sessions, "Every dashboard session of {name} has ended."
    )

    @app.cli.group("tokens")
    def tokens() -> None:
        """Bearer tokens for the reviewer API."""

    @tokens.command("create")
    @click.argument("name")
    @click.option("--label", default="", help="What the token is for.")
    @click.option(
        "--days",
        type=click.IntRange(1, 3650),
        default=accounts.TOKEN_DAYS,
        show_default=True,
        help="Days until the token expires.",
    )
    def tokens_create(name, label, days) -> None:
        """Create a token for the user NAME and print it (shown only this once); when it
        expires goes to stderr, so that stdout is the token alone."""
        with account_change() as session:
            user = accounts.find_user(session, name)
            token, expires = accounts.create_token(session, user, label, days)
        click.echo(token)
        click.echo(f"Expires {expires:%Y-%m-%d %H:%M} UTC.", err=True)

    @tokens.command("list")
    @click.argument("name")
    def tokens_list(name) -> None:
        """List the tokens of NAME: id, label, created, last used, expires, state."""
        from datetime import UTC, datetime

        def day(value) -> str:
            return f"{value:%Y-%m-%d %H:%M}" if value else "-"

        now = datetime.now(UTC)
        with account_change() as session:
            for token in accounts.list_tokens(session, accounts.find_user(session, name)):
                state = (
                    "revoked"
                    if token.revoked_at
                    else "expired"
                    if token.expires_at and token.expires_at <= now
                    else "live"
                )
                click.echo(
                    f"{token.id}\t{token.name or '-'}\tcreated {day(token.created_at)}\t"
                    f"used {day(token.last_used_at)}\texpires {day(token.expires_at)}\t{state}"
                )

    @tokens.command("revoke")
    @click.argument("name")
    @click.option(
        "--id",
        "token_id",
        type=click.IntRange(1, 2**63 - 1),
        help="Revoke only this token (the first column of `tokens list`).",
    )
    def tokens_revoke(name, token_id) -> None:
        """Revoke every token of the user NAME, or only the one --id names."""
        with account_change() as session:
            user = accounts.find_user(session, name)
            count = accounts.revoke_tokens(session, user, token_id)
        click.echo(f"Revoked {count} token(s) of {name}.")

    @app.cli.group("sla")
    def sla() -> None:
        """Service levels."""

    @sla.command("sweep")
    @click.option("--no-mail", is_flag=True, help="Do not send the mail that is due.")
    def sla_sweep(no_mail) -> None:
        """Warn, escalate and close what is due, then send due mail. Safe to run anywhere,
        any time, and from several machines at once."""
        settings = current_app.config["SETTINGS"]
        review = current_app.extensions["review"]
        report = sweep.sweep(store().engine, review.policy, settings.public_url)
        click.echo(f"SLA sweep: {report.summary()}.")
        if no_mail:
            return
        if not settings.smtp_host:
            click.echo("Mail: no SMTP server is set (TIDEWAY_SMTP_HOST); mail waits in the outbox.")
        else:
            sent = notify.deliver(store().engine, notify.MailSettings.from_settings(settings))
            click.echo(
                f"Mail: {sent['sent']} sent, {sent['failed']} to retry, {sent['dropped']} dropped."
            )


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_mail(app: Flask) -> None:
    """Reading the outbox: where mail waits while no SMTP server is set (and between tries)."""
    from feedback_api.review import notify

    @app.cli.group("mail")
    def mail() -> None:
        """Mail to readers and reviewers."""

    @mail.command("outbox")
    @click.option("--limit", type=click.IntRange(1, 10_000), default=50, help="Most to show.")
    def mail_outbox(limit) -> None:
        """Show the mail waiting to be sent, oldest first: address, subject and the text the
        reader will read."""
        settings = current_app.config["SETTINGS"]
        with current_app.extensions["store"].transaction() as session:
            total, rows = notify.waiting(session.connection(), limit)
            held = notify.held(session.connection())
        if not settings.smtp_host:
            click.echo("No SMTP server is set (TIDEWAY_SMTP_HOST): mail waits here until one is.")
        if held:
            click.echo(
                f"{held} mail(s) to readers wait for their address to be confirmed; they are "
                "not shown and go out when the reader opens the confirmation link."
            )
        if not total:
            click.echo("No mail is waiting in the outbox.")
            return
        for row in rows:
            click.echo(f"\n--- #{row.id} ({row.kind}), written {row.created_at:%Y-%m-%d %H:%M} UTC")
            if row.attempts:
                click.echo(f"Tried {row.attempts} time(s); last error: {row.last_error}")
            click.echo(f"To: {row.to_address}\nSubject: {row.subject}\n")
            click.echo(notify.mail_text(row.body, row.unsubscribe_url).rstrip("\n"))
        shown = f" (the first {len(rows)} shown)" if len(rows) < total else ""
        click.echo(f"\n{total} mail(s) waiting in the outbox{shown}.")
