"""Rate limits: where their counters live, and the ingest endpoints' limits.

`TIDEWAY_RATE_LIMIT_STORAGE` picks the counters every limit uses (the ingest endpoints' here,
the dashboard's sign-in throttle in feedback_api/dashboard/auth.py):

- `machine://` (the default): a table in a file that every process of this machine maps
  (`shared_counters.py`, the file from `TIDEWAY_RATE_LIMIT_FILE`), so a limit holds across
  gunicorn's workers with no extra service;
- `redis://...`: Redis, through the `limits` library, so a limit holds across machines; when
  Redis is down, each process counts on its own rather than refuse every reader;
- `memory://`: this process alone (one worker, or an app embedded in something else).

The endpoints call the counters directly, not through Flask-Limiter's decorators, which
cost ~150 µs a request, a third of the endpoint's own time. Flask-Limiter's `limiter` stays
installed, on the same counters, for any route that wants a decorator.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app, g
from flask_limiter import Limiter
from limits import parse_many
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.engine import make_url

from .body import client_hash
from .errors import APIError
from .shared_counters import SharedCounters

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


class Limit:
    """A limit in Flask-Limiter notation (`30/minute;300/hour`): one fixed window per part."""

    def __init__(self, spec: str):
        self.spec = spec
        self.items = parse_many(spec)
        # Each window's key suffix, length in seconds and allowance, built once: the `limits`
        # library's key_for() costs more than a hit on the shared table.
        self.windows = [
            (f"/{i.amount}/{i.multiples}/{i.GRANULARITY.name}", i.get_expiry(), i.amount)
            for i in self.items
        ]

    def __str__(self) -> str:
        return self.spec


class Refused(Exception):
    """A limit is reached: `window` names which, `retry_after` when to try again."""

    def __init__(self, window: str, retry_after: int):
        super().__init__(window)
        self.window = window
        self.retry_after = retry_after


class Counters(Protocol):
    def hit(self, limit: Limit, key: str) -> None:
        """Count one hit in each of `limit`'s windows for `key`, or, when one is full,
        count none and raise Refused."""

    def refund(self, limit: Limit, key: str) -> None:
        """Take back one hit that `hit` counted (the window may have ended since)."""


def _refused(limit: Limit, index: int, reset_in: float) -> Refused:
    return Refused(str(limit.items[index]), max(1, int(reset_in) + 1))


class MachineCounters:
    """`machine://`: the table every process of this machine shares."""

    def __init__(self, path: Path):
        self.table = SharedCounters.open(path)

    def hit(self, limit: Limit, key: str) -> None:
        full = self.table.hit([(key + suffix, s, n) for suffix, s, n in limit.windows])
        if full is not None:
            raise _refused(limit, *full)

    def refund(self, limit: Limit, key: str) -> None:
        for suffix, seconds, _ in limit.windows:
            self.table.incr(key + suffix, seconds, -1)


class LocalFixedWindow:
    """`memory://`: fixed-window counters in this process's memory, expired when touched.

    Stands in for `limits`' MemoryStorage, which starts a timer thread every 10 ms under
    load; under gunicorn those thread starts cost ~400 µs of CPU per request.
    """

    def __init__(self, max_keys: int = 100_000):
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        self._max_keys = max_keys

    def hit(self, limit: Limit, key: str) -> None:
        now = time.time()
        with self._lock:
            current = []
            for index, (suffix, seconds, amount) in enumerate(limit.windows):
                end, count = self._windows.get(key + suffix, (0.0, 0))
                if now >= end:
                    end, count = now + seconds, 0
                if count >= amount:
                    raise _refused(limit, index, end - now)
                current.append((key + suffix, end, count))
            if len(self._windows) >= self._max_keys:
                self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
            for window_key, end, count in current:
                self._windows[window_key] = (end, count + 1)

    def refund(self, limit: Limit, key: str) -> None:
        with self._lock:
            for suffix, _, _ in limit.windows:
                end, count = self._windows.get(key + suffix, (0.0, 0))
                if count > 0:
                    self._windows[key + suffix] = (end, count - 1)


class RedisCounters:
    """`redis://`: shared by every machine; this process's own count while Redis is down."""

    def __init__(self, uri: str):
        self.storage = storage_from_string(uri)
        self._limiter = FixedWindowRateLimiter(self.storage)
        self._local = LocalFixedWindow()

    def hit(self, limit: Limit, key: str) -> None:
        try:
            for index, item in enumerate(limit.items):
                if not self._limiter.hit(item, key):
                    stats = self._limiter.get_window_stats(item, key)
                    raise _refused(limit, index, stats.reset_time - time.time())
        except (StorageError, OSError, ConnectionError) as exc:
            log.warning("Rate-limit storage unavailable (%s); counting locally", exc)
            self._local.hit(limit, key)

    def refund(self, limit: Limit, key: str) -> None:
        try:
            for item in limit.items:
                if self._limiter.storage.get(item.key_for(key)) > 0:
                    self.storage.incr(item.key_for(key), item.get_expiry(), amount=-1)
        except (StorageError, OSError, ConnectionError):
            self._local.refund(limit, key)


class MachineStorage(Storage):
    """The shared table as a `limits` storage (`machine://`), so that Flask-Limiter's
    decorated limits count in the same place as everything else."""

    STORAGE_SCHEME = ["machine"]

    def __init__(self, uri: str = "machine://", wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.table = SharedCounters.open(str(options["path"]))

    @property
    def base_exceptions(self) -> type[Exception]:
        return OSError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self.table.incr(key, expiry, amount)[0]

    def get(self, key: str) -> int:
        return self.table.get(key)[0]

    def get_expiry(self, key: str) -> float:
        return self.table.get(key)[1]

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        self.table.reset()
        return None

    def clear(self, key: str) -> None:
        self.table.clear(key)


def counter_file(settings) -> Path:
    """Where `machine://` keeps its table: `TIDEWAY_RATE_LIMIT_FILE`, or else beside a SQLite
    store, or else in /dev/shm named for the store's URL. Named for the store, so every
    process serving one store counts together, and two stores (two tests) never do."""
    if settings.rate_limit_file is not None:
        return settings.rate_limit_file
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database + "-limits")
    digest = hashlib.sha256(f"{os.getcwd()}\0{settings.database_url}".encode()).hexdigest()
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() else Path(tempfile.gettempdir())
    return base / f"tideway-limits-{os.geteuid()}-{digest[:16]}"


def make_counters(settings) -> Counters:
    uri = settings.rate_limit_storage
    if uri.startswith("machine://"):
        return MachineCounters(counter_file(settings))
    if uri.startswith("memory://"):
        return LocalFixedWindow()
    return RedisCounters(uri)


class IngestLimits:
    """The ingest endpoints' limits: submissions and amendments per client, and submissions
    per page of a version."""

    def __init__(self, counters: Counters, per_client: str, per_page: str):
        self.counters = counters
        self.per_client = Limit(per_client)
        self.per_page = Limit(per_page)

    def check_client(self, key: str) -> None:
        self._check(self.per_client, f"ingest/client/{key}")

    def check_amend(self, key: str) -> None:
        # Its own count, so that completing a submission never uses up the reader's next one.
        self._check(self.per_client, f"ingest/amend/{key}")

    def check_page(self, version: str, page: str) -> None:
        self._check(self.per_page, f"ingest/page/{version}|{page}")

    def _check(self, limit: Limit, key: str) -> None:
        try:
            self.counters.hit(limit, key)
        except Refused as refused:
            raise APIError(
                429,
                "rate_limited",
                f"Too many submissions ({refused.window}); try again in {refused.retry_after} s.",
                headers={"Retry-After": str(refused.retry_after)},
            ) from None


def rate_counters() -> Counters:
    return current_app.extensions["rate_counters"]


def ingest_limits() -> IngestLimits:
    return current_app.extensions["ingest_limits"]


def install_limits(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    counters = make_counters(settings)
    app.extensions["rate_counters"] = counters
    app.config["RATELIMIT_STORAGE_URI"] = settings.rate_limit_storage
    if isinstance(counters, MachineCounters):
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"path": counters.table.path}
    limiter.init_app(app)
    # We set no application-wide limits, so Flask-Limiter's before_request check would only
    # cost time on every request; decorated routes check their own limits anyway.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    # Its other hooks matter only where its decorators are used, the dashboard: run them
    # there, not on every feedback submission.
    for funcs in (app.after_request_funcs, app.teardown_request_funcs):
        hook = funcs[None].pop()  # init_app appended it last
        assert getattr(hook, "func", hook).__qualname__.startswith("Limiter."), hook
        funcs.setdefault("dashboard", []).append(hook)
    app.extensions["ingest_limits"] = IngestLimits(
        counters, settings.rate_limit_client, settings.rate_limit_page
    )
