"""Prometheus metrics: requests by route and status, latency, submissions stored, rejections.

Under gunicorn, `make serve` sets PROMETHEUS_MULTIPROC_DIR so that /metrics adds up every
worker process (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)


class Metrics:
    def __init__(self):
        # A registry per app: several apps in one test process must not collide.
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[str, str, int], tuple] = {}
        self.requests = Counter(
            "tideway_http_requests_total",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tideway_http_request_duration_seconds",
            "Request latency by route.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.stored = Counter(
            "tideway_feedback_stored_total",
            "Feedback submissions stored.",
            registry=self.registry,
        )
        self.rejected = Counter(
            "tideway_feedback_rejected_total",
            "API requests refused, by error code.",
            ["code"],
            registry=self.registry,
        )

    def _series(self, rule: str, method: str, status: int):
        # labels() validates and locks on every call; the set of series is small and fixed.
        key = (rule, method, status)
        series = self._children.get(key)
        if series is None:
            series = (self.requests.labels(rule, method, str(status)), self.latency.labels(rule))
            self._children[key] = series
        return series

    def record(
        self, rule: str, method: str, status: int, seconds: float | None, code: str | None
    ) -> None:
        """Count one answer of an API path: `seconds` when it was timed, `code` when refused."""
        requests, latency = self._series(rule, method, status)
        requests.inc()
        if seconds is not None:
            latency.observe(seconds)
        if code:
            self.rejected.labels(code).inc()

    def install(self, app: Flask) -> None:
        @app.before_request
        def _start() -> None:
            g.metrics_start = time.perf_counter()

        @app.after_request
        def _record(response):
            rule = request.url_rule.rule if request.url_rule else "(unmatched)"
            if not request.path.startswith(("/api/", "/healthz", "/readyz", "/metrics")):
                return response
            # Not timed when an earlier hook refused the request (a body too late).
            start = g.get("metrics_start")
            code = None
            if response.status_code >= 400 and response.is_json:
                code = (response.get_json(silent=True) or {}).get("error", {}).get("code")
            seconds = None if start is None else time.perf_counter() - start
            self.record(rule, request.method, response.status_code, seconds, code)
            return response


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_endpoint():
    from flask import current_app

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = current_app.extensions["metrics"].registry
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
