"""Rate limits per client and per page, in memory for one process or in Redis when
configured, so that a limit holds across every API process.

The ingest endpoint checks its limits with the `limits` library (the engine under
Flask-Limiter, same storage URIs) directly, and in process memory with its own counters:
Flask-Limiter's per-request decorator machinery cost ~150 µs a request, a third of the
endpoint's own time. Flask-Limiter's `limiter`
stays installed for the other routes (the dashboard's sign-in).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, g
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .body import client_hash
from .errors import APIError

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


def limiter_retry_after(default: int = 60) -> int:
    """Seconds until the Flask-Limiter limit that refused this request resets."""
    current = limiter.current_limit
    if current is None:
        return default
    return max(1, int(current.reset_at - time.time()) + 1)


class LocalFixedWindow:
    """Fixed-window counters in this process's memory, expired when touched.

    Stands in for `limits`' MemoryStorage, which starts a timer thread every 10 ms under
    load; under gunicorn those thread starts cost ~400 µs of CPU per request.
    """

    def __init__(self, max_keys: int = 100_000):
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        self._max_keys = max_keys

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        key = item.key_for(*identifiers)
        now = time.time()
        with self._lock:
            end, count = self._windows.get(key, (0.0, 0))
            if now >= end:
                if len(self._windows) >= self._max_keys:
                    self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
                end, count = now + item.get_expiry(), 0
            if count >= item.amount:
                return False
            self._windows[key] = (end, count + 1)
            return True

    def reset_in(self, item: RateLimitItem, *identifiers: str) -> float:
        end, _ = self._windows.get(item.key_for(*identifiers), (time.time(), 0))
        return end - time.time()


class IngestLimits:
    """The ingest endpoint's two limits: per client, and per page of a version."""

    def __init__(self, storage_uri: str, per_client: str, per_page: str):
        self.per_client = parse_many(per_client)
        self.per_page = parse_many(per_page)
        self._local = LocalFixedWindow()
        self._shared = (
            None
            if storage_uri.startswith("memory://")
            else FixedWindowRateLimiter(storage_from_string(storage_uri))
        )

    def check_client(self, key: str) -> None:
        self._hit(self.per_client, "client", key)

    def check_page(self, version: str, page: str) -> None:
        self._hit(self.per_page, "page", f"{version}|{page}")

    def _hit(self, items: list[RateLimitItem], scope: str, key: str) -> None:
        for item in items:
            reset_in = None
            try:
                if self._shared is None:
                    raise _UseLocal
                allowed = self._shared.hit(item, "ingest", scope, key)
                if not allowed:
                    stats = self._shared.get_window_stats(item, "ingest", scope, key)
                    reset_in = stats.reset_time - time.time()
            except (_UseLocal, StorageError, OSError, ConnectionError) as exc:
                if not isinstance(exc, _UseLocal):
                    # Redis is down: count in this process rather than refuse every reader.
                    log.warning("Rate-limit storage unavailable (%s); counting locally", exc)
                allowed = self._local.hit(item, "ingest", scope, key)
                if not allowed:
                    reset_in = self._local.reset_in(item, "ingest", scope, key)
            if not allowed:
                retry_after = max(1, int(reset_in or 0) + 1)
                raise APIError(
                    429,
                    "rate_limited",
                    f"Too many submissions ({item}); try again in {retry_after} s.",
                    headers={"Retry-After": str(retry_after)},
                )


class _UseLocal(Exception):
    """No shared storage is configured."""


def ingest_limits() -> IngestLimits:
    return current_app.extensions["ingest_limits"]


def install_limits(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    app.config["RATELIMIT_STORAGE_URI"] = settings.rate_limit_storage
    limiter.init_app(app)
    # We set no application-wide limits, so Flask-Limiter's before_request check would only
    # cost time on every request; decorated routes check their own limits anyway.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    # Its other hooks matter only where its limits are used, the dashboard (sign-in): run
    # them there, not on every feedback submission.
    for funcs in (app.after_request_funcs, app.teardown_request_funcs):
        hook = funcs[None].pop()  # init_app appended it last
        assert getattr(hook, "func", hook).__qualname__.startswith("Limiter."), hook
        funcs.setdefault("dashboard", []).append(hook)
    app.extensions["ingest_limits"] = IngestLimits(
        settings.rate_limit_storage, settings.rate_limit_client, settings.rate_limit_page
    )
