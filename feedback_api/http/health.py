"""Liveness and readiness probes for load balancers."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .errors import APIError

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
        raise APIError(
            503, "store_unavailable", "The store is not reachable.", headers={"Retry-After": "5"}
        ) from None
    if not current_app.extensions["catalog"].ready():
        raise APIError(
            503,
            "site_unavailable",
            "The published site's manifests cannot be read.",
            headers={"Retry-After": "5"},
        )
    return jsonify({"status": "ready"})
