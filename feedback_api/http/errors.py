"""The one JSON error shape, and the handlers that give every /api/ failure that shape.

{"error": {"code": "machine_readable", "message": "A sentence.", "details": [...]}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

# Every error code the API can answer, with its status and when it happens. The OpenAPI
# document and the API reference list exactly these.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_json": (400, "The body is not valid JSON, or is nested too deeply."),
    "bad_request": (400, "The request is malformed in another way."),
    "unauthorized": (401, "A credential is missing, unknown or revoked."),
    "forbidden": (
        403,
        "The credential does not allow this (a wrong amend token, or a reviewer where an "
        "admin is needed).",
    ),
    "amend_window_closed": (403, "The amend window of the submission is over."),
    "not_found": (404, "No such endpoint or submission."),
    "method_not_allowed": (405, "The endpoint does not take this method."),
    "request_timeout": (
        408,
        "The body did not arrive within `TIDEWAY_BODY_TIMEOUT_SECONDS`; nothing of it was kept.",
    ),
    "payload_too_large": (413, "The body is larger than 16 KiB; it was not read."),
    "uri_too_long": (414, "The request line is longer than 4,094 bytes; it was not read."),
    "unsupported_media_type": (415, "The body is not `application/json`."),
    "validation_failed": (422, "A field is missing, unknown or invalid; `details` names each."),
    "unknown_version": (422, "The version is not a published version or alias."),
    "unknown_page": (422, "The page does not exist in that version of the published site."),
    "illegal_transition": (409, "The task's state does not allow this action."),
    "task_conflict": (409, "The task changed meanwhile, or another task is open for its page."),
    "idempotency_key_reused": (422, "The key was already used for a different submission."),
    "expectation_failed": (417, "The `Expect` header asks for more than `100-continue`."),
    "rate_limited": (429, "Too many submissions; retry after `Retry-After` seconds."),
    "headers_too_large": (
        431,
        "More than 100 header fields, or one longer than 8,190 bytes; none was read.",
    ),
    "internal_error": (500, "A fault on our side; the server log has the details."),
    "not_implemented": (501, "The `Transfer-Encoding` is not one the server reads (`chunked`)."),
    "store_unavailable": (503, "The store is unreachable or busy; retry after `Retry-After`."),
    "site_unavailable": (503, "The published site's manifests cannot be read right now."),
}

# A status's code, for werkzeug's errors (NotFound -> not_found) and for the requests the
# HTTP server refuses before the app (run/gunicorn_errors.py).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    417: "expectation_failed",
    422: "unprocessable",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "store_unavailable",
}


class APIError(Exception):
    """Raised by views; rendered in the error shape with its status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def store_unavailable(
    message: str = "The store is unavailable; try again shortly.", retry_after: int = 5
) -> APIError:
    """The one answer for a store that cannot take the request now: retry later."""
    return APIError(503, "store_unavailable", message, headers={"Retry-After": str(retry_after)})


def internal_error() -> APIError:
    """The answer to a fault of ours: never a stack trace to the client; the log keeps it."""
    return APIError(500, "internal_error", "Something went wrong on our side.")


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    """The shape as bytes: compact JSON, ASCII, a final newline (what `jsonify` wrote)."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return (json.dumps({"error": body}, separators=(",", ":")) + "\n").encode()


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
):
    response = Response(error_body(code, message, details), status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# The messages of werkzeug's errors on an API path (others keep werkzeug's description).
HTTP_MESSAGES = {
    404: "There is no such endpoint; see /api/v1/openapi.json.",
    408: "The body took too long to arrive; nothing of it was kept.",
    413: "The body is larger than 16 KiB.",
}


def http_error(status: int) -> APIError:
    """A werkzeug error answered as the API answers it (`408` for a body too late)."""
    return APIError(status, HTTP_CODES[status], HTTP_MESSAGES[status])


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")


def _site_not_found(app: Flask):
    """The published site's root 404.html, as a static host would answer it: it sends a
    path without a version (an old link) to the same page in the default version."""
    page = Path(app.config["SETTINGS"].site_dir) / "404.html"
    try:
        body = page.read_bytes()
    except OSError:
        return None
    return Response(body, status=404, mimetype="text/html")


def log_store_unavailable(app: Flask, exc: OperationalError) -> None:
    reason = str(exc.orig) if exc.orig is not None else type(exc).__name__
    app.logger.warning("Store unavailable on %s %s: %s", request.method, request.path, reason)


def log_unexpected(app: Flask) -> None:
    """The line (and stack trace) of an error nothing else handled, in its request."""
    app.logger.exception("Unhandled error on %s %s", request.method, request.path)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(exc: APIError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded):
        from .limits import limiter_retry_after

        return error_response(
            429,
            "rate_limited",
            f"Too many submissions ({exc.description}); try again later.",
            headers={"Retry-After": str(limiter_retry_after())},
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not _wants_json():
            if request.path.startswith("/dashboard"):
                # A dashboard path no route matched: the dashboard's own themed page.
                from feedback_api.dashboard.security import http_error_page

                return http_error_page(exc)
            if exc.code == 404:
                return _site_not_found(app) or exc
            return exc
        status = exc.code or 500
        if status == 405:
            message = f"{request.method} is not allowed here."
        else:
            message = HTTP_MESSAGES.get(status, exc.description or exc.name)
        headers = {}
        if status == 405 and exc.get_response().headers.get("Allow"):
            headers["Allow"] = exc.get_response().headers["Allow"]
        return error_response(status, HTTP_CODES.get(status, "http_error"), message, None, headers)

    @app.errorhandler(OperationalError)
    def _store_unavailable(exc: OperationalError):
        # The store is locked, full or unreachable: the client may retry, and nothing of
        # the request was kept (its transaction rolled back). One line in the log, no SQL.
        log_store_unavailable(app, exc)
        return _api_error(store_unavailable())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Never a stack trace to the client; the log keeps it.
        log_unexpected(app)
        return _api_error(internal_error())
