"""Liveness and readiness probes for load balancers."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .errors import APIError, store_unavailable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    try:
        with current_app.extensions["store"].transaction() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise store_unavailable("The store is not reachable.") from None
    settings = current_app.config["SETTINGS"]
    free_mb = _free_mb(settings.database_url)
    if free_mb is not None and free_mb < settings.min_free_disk_mb:
        raise store_unavailable(
            f"The store's disk has {free_mb} MB free, less than {settings.min_free_disk_mb}.",
            retry_after=30,
        )
    if not current_app.extensions["catalog"].ready():
        raise APIError(
            503,
            "site_unavailable",
            "The published site's manifests cannot be read.",
            headers={"Retry-After": "5"},
        )
    return jsonify({"status": "ready"})


def _free_mb(database_url: str) -> int | None:
    """Free space where a SQLite store writes (None for a server database: its host says)."""
    if not database_url.startswith("sqlite:///"):
        return None
    folder = Path(database_url.removeprefix("sqlite:///")).parent
    return shutil.disk_usage(folder).free // 2**20
