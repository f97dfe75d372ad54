"""`flask --app feedback_api ...` commands."""

from __future__ import annotations

import click
from flask import Flask, current_app

from . import store


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


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
