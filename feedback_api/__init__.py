"""Tideway Docs' feedback API: the app factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from flask import Flask, jsonify

from .config import ConfigError, load_settings, resolve_secret
from .http import headers
from .http.body import MAX_BODY, behind_proxies, refuse_late_body
from .http.errors import register_error_handlers
from .http.ids import BoundedIntConverter
from .http.metrics import Metrics
from .ingest.catalog import SiteCatalog
from .store import Store
from .store.models import Feedback
from .store.writer import GroupCommitter
from .store.writer_process import WriterClient


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (environment, then `test_config` on top), store, blueprints."""
    try:
        settings = load_settings(**(test_config or {}))
    except ConfigError as exc:
        if click.get_current_context(silent=True) is not None:
            # A `flask` command: click prints the message (exit status 1), not a traceback.
            raise click.ClickException(str(exc)) from None
        raise
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["SECRET"] = resolve_secret(settings)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # werkzeug refuses larger bodies unread
    app.json.sort_keys = False
    app.before_request(refuse_late_body)  # first of all: see http/body.py
    # Before any blueprint adds its rules: every `<int:...>` id is bounded (http/ids.py).
    app.url_map.converters["int"] = BoundedIntConverter

    store = Store(settings.database_url)
    app.extensions["store"] = store
    committer = GroupCommitter(store.engine, Feedback.__table__)
    app.extensions["group_commit"] = committer
    # Under the server, a writer process commits for every worker of the machine.
    app.extensions["writer"] = (
        WriterClient(settings.writer_socket, committer) if settings.writer_socket else committer
    )
    app.extensions["catalog"] = (
        SiteCatalog(site_url=settings.site_url)
        if settings.site_url
        else SiteCatalog(site_dir=settings.site_dir)
    )
    metrics = Metrics()
    app.extensions["metrics"] = metrics
    metrics.install(app)

    app.wsgi_app = behind_proxies(app.wsgi_app, settings.proxy_count)
    headers.install_cors(app)

    from .http import health
    from .http.limits import install_limits
    from .http.metrics import bp as metrics_bp
    from .ingest import endpoints
    from .openapi import build_openapi
    from .run import cli

    install_limits(app)
    headers.install(app)
    app.register_blueprint(endpoints.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics_bp)

    # The reviewers' dashboard: its blueprint, signed-cookie sessions and CSRF protection.
    from .dashboard import init_dashboard

    init_dashboard(app)

    # Review work: feedback lands on tasks; the reviewer API and the unsubscribe link.
    from .review.context import init_review

    init_review(app)

    openapi_doc = build_openapi({1: settings.reasons_helpful, 0: settings.reasons_not_helpful})
    app.add_url_rule("/api/v1/openapi.json", "openapi", lambda: jsonify(openapi_doc))
    cli.register(app)
    register_error_handlers(app)
    return app
