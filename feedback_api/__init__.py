"""Tideway Docs' feedback API: the app factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_cors import CORS

from .config import load_settings
from .errors import register_error_handlers
from .store import Store


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (environment, then `test_config` on top), store, blueprints."""
    settings = load_settings(**(test_config or {}))
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.json.sort_keys = False
    app.extensions["store"] = Store(settings.database_url)

    if settings.allowed_origins:
        CORS(app, resources={r"/api/*": {"origins": settings.allowed_origins}})

    from . import cli, health, ingest

    app.register_blueprint(ingest.bp)
    app.register_blueprint(health.bp)
    cli.register(app)
    register_error_handlers(app)
    return app
