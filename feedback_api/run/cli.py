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
        """Create the user NAME (a login name)."""
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        if password_stdin and not password:
            raise click.ClickException("--password-stdin was given but stdin had no password.")
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

    @app.cli.group("tokens")
    def tokens() -> None:
        """Bearer tokens for the reviewer API."""

    @tokens.command("create")
    @click.argument("name")
    @click.option("--label", default="", help="What the token is for.")
    def tokens_create(name, label) -> None:
        """Create a token for the user NAME and print it (shown only this once)."""
        with account_change() as session:
            token = accounts.create_token(session, accounts.find_user(session, name), label)
        click.echo(token)

    @tokens.command("revoke")
    @click.argument("name")
    def tokens_revoke(name) -> None:
        """Revoke every token of the user NAME."""
        with account_change() as session:
            count = accounts.revoke_tokens(session, accounts.find_user(session, name))
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
        if not settings.smtp_host:
            click.echo("No SMTP server is set (TIDEWAY_SMTP_HOST): mail waits here until one is.")
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
