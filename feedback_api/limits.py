"""Rate limits per client and per page, in memory for one process or in Redis when
configured, so that a limit holds across every API process.

The ingest endpoint checks its limits with the `limits` library (the engine under
Flask-Limiter, same storage URIs) directly: Flask-Limiter's per-request decorator machinery
cost ~150 µs a request, a third of the endpoint's own time. Flask-Limiter's `limiter`
stays installed for the other routes (the dashboard's sign-in).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, g
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .errors import APIError
from .http_input import client_hash

log = logging.getLogger(__name__)


def client_key() -> str:
    if "client_key" not in g:
        g.client_key = client_hash()
    return g.client_key


limiter = Limiter(
    key_func=client_key,
    strategy="fixed-window",
    # A Redis outage must not take the site down: fall back to counting in memory.
    swallow_errors=True,
    in_memory_fallback_enabled=True,
    headers_enabled=False,
)


class IngestLimits:
    """The ingest endpoint's two limits: per client, and per page of a version."""

    def __init__(self, storage_uri: str, per_client: str, per_page: str):
        self.per_client = parse_many(per_client)
        self.per_page = parse_many(per_page)
        self._shared = FixedWindowRateLimiter(storage_from_string(storage_uri))
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._shared_is_local = storage_uri.startswith("memory://")

    def check_client(self, key: str) -> None:
        self._hit(self.per_client, "client", key)

    def check_page(self, version: str, page: str) -> None:
        self._hit(self.per_page, "page", f"{version}|{page}")

    def _hit(self, items: list[RateLimitItem], scope: str, key: str) -> None:
        for item in items:
            strategy = self._shared
            try:
                allowed = strategy.hit(item, "ingest", scope, key)
            except (StorageError, OSError, ConnectionError) as exc:
                # Redis is down: count in this process rather than refuse every reader.
                if not self._shared_is_local:
                    log.warning("Rate-limit storage unavailable (%s); counting locally", exc)
                strategy = self._local
                allowed = strategy.hit(item, "ingest", scope, key)
            if not allowed:
                stats = strategy.get_window_stats(item, "ingest", scope, key)
                retry_after = max(1, int(stats.reset_time - time.time()) + 1)
                raise APIError(
                    429,
                    "rate_limited",
                    f"Too many submissions ({item}); try again in {retry_after} s.",
                    headers={"Retry-After": str(retry_after)},
                )


def ingest_limits() -> IngestLimits:
    return current_app.extensions["ingest_limits"]


def install_limits(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    app.config["RATELIMIT_STORAGE_URI"] = settings.rate_limit_storage
    limiter.init_app(app)
    # We set no application-wide limits, so Flask-Limiter's before_request check would only
    # cost time on every request; decorated routes check their own limits anyway.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    app.extensions["ingest_limits"] = IngestLimits(
        settings.rate_limit_storage, settings.rate_limit_client, settings.rate_limit_page
    )
