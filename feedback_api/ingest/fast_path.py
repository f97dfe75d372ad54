"""`POST /api/v1/feedback` answered at the WSGI edge, before Flask's per-request machinery.

Flask's request context, URL matching, hooks and response object cost a worker about 70 µs
of the 500 it spends on a submission. This path gives the same answer without them: the
rules come from submit.py (as for the Flask view), the body's from http/body.py, the error
shape from http/errors.py, the headers from http/headers.py (security headers and the CORS
grant, as Flask-CORS computes it), and the request is counted by http/metrics.py as the
Flask hooks count it. What it cannot answer the same way goes to Flask: any other method
or path, a chunked body (not one gunicorn's edge has buffered) or one without a length, and
a body shorter than its length.
"""

from __future__ import annotations

import io
import time
from functools import cache

from flask import Flask
from sqlalchemy.exc import OperationalError
from werkzeug.http import parse_options_header
from werkzeug.wrappers import Response

from feedback_api.http.body import (
    BODY_LATE,
    MAX_BODY,
    behind_proxies,
    client_hash_of,
    json_object,
)
from feedback_api.http.errors import (
    APIError,
    error_body,
    http_error,
    internal_error,
    log_store_unavailable,
    log_unexpected,
    store_unavailable,
)
from feedback_api.http.headers import feedback_cors_headers, rules_for

from .submit import StoreFailure, log_store_failure, submit_feedback

ENDPOINT = "ingest.create_feedback"
# The hooks Flask runs for every request, by name, each of which this path stands in for:
# the body deadline (408), the metrics' timing and count, the CSRF check (which checks only
# the dashboard: WTF_CSRF_CHECK_DEFAULT is off), the CORS grant and the security headers.
# tests/test_ingest_fast_path.py fails when the app gains one that is not listed here.
STANDS_IN_FOR = {
    "before_request": ["refuse_late_body", "_start", "csrf_protect"],
    "after_request": ["_record", "cors_after_request", "_security_headers"],
    "teardown_request": [],
    "teardown_appcontext": [],
}
_BODY = "tideway.fast_path.body"  # the body as read, past the proxies' middleware


def _is_length(value: str) -> bool:
    return value.isascii() and value.isdigit()  # str.isdigit() alone also takes "²"


@cache
def status_line(status: int) -> str:
    """The status line werkzeug writes for `status` (`201 CREATED`)."""
    return Response(status=status).status


class FeedbackFastPath:
    """The WSGI application for the submissions it `takes`; Flask serves every other request."""

    def __init__(self, app: Flask):
        self.app = app
        # The path of the Flask view's rule, so that both always answer the same URL.
        (rule,) = app.url_map.iter_rules(ENDPOINT)
        assert "POST" in rule.methods, rule
        self.path = rule.rule
        self.security = list(rules_for(self.path, {}).items())
        self.metrics = app.extensions["metrics"]
        self.secret = app.config["SECRET"]
        # After the decision to serve it: the client's address as the Flask app reads it.
        self.answer = behind_proxies(self._answer, app.config["SETTINGS"].proxy_count)

    def takes(self, environ: dict) -> bool:
        # After http.body.buffer_body: under gunicorn, a chunked body has become a length.
        return (
            environ.get("PATH_INFO") == self.path
            and environ.get("REQUEST_METHOD") == "POST"
            and "HTTP_TRANSFER_ENCODING" not in environ
            and _is_length(environ.get("CONTENT_LENGTH", ""))
        )

    def __call__(self, environ: dict, start_response):
        length = int(environ["CONTENT_LENGTH"])
        raw = b""
        if length <= MAX_BODY and not environ.get(BODY_LATE):
            raw = environ["wsgi.input"].read(length)
            if len(raw) != length:
                # The client went away mid-body: werkzeug's answer to that, through Flask.
                environ["wsgi.input"] = io.BytesIO(raw)
                return self.app(environ, start_response)
        environ[_BODY] = raw
        return self.answer(environ, start_response)

    def _answer(self, environ: dict, start_response):
        started = time.perf_counter()
        extra: dict[str, str] = {}
        try:
            if environ.get(BODY_LATE):
                started = None  # refused before Flask's timing hook would have run
                raise http_error(408)
            status, body = self._submit(environ)
            code = None
        except APIError as error:
            status, body, code, extra = self._error(error)
        except StoreFailure as failure:
            self._log(environ, log_store_failure, failure)
            status, body, code, extra = self._error(store_unavailable())
        except OperationalError as exc:
            self._log(environ, log_store_unavailable, exc)
            status, body, code, extra = self._error(store_unavailable())
        except Exception:
            self._log(environ, log_unexpected)
            status, body, code, extra = self._error(internal_error())
        seconds = None if started is None else time.perf_counter() - started
        self.metrics.record(self.path, "POST", status, seconds, code)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *extra.items(),
            *self.security,
            *feedback_cors_headers(self.app, environ, "POST"),
        ]
        start_response(status_line(status), headers)
        return [body]

    def _submit(self, environ: dict) -> tuple[int, bytes]:
        content_type = environ.get("CONTENT_TYPE", "")
        mimetype = (
            content_type
            if content_type == "application/json"
            else parse_options_header(content_type)[0].lower()
        )
        length = int(environ["CONTENT_LENGTH"])
        raw = environ[_BODY]
        return submit_feedback(
            self.app,
            client_hash_of(self.secret, environ.get("REMOTE_ADDR")),
            lambda: json_object(length, mimetype, lambda: raw),
            environ.get("HTTP_IDEMPOTENCY_KEY"),
        )

    @staticmethod
    def _error(error: APIError) -> tuple[int, bytes, str, dict[str, str]]:
        body = error_body(error.code, error.message, error.details)
        return error.status, body, error.code, error.headers

    def _log(self, environ: dict, log, *args) -> None:
        # In a request context, as in the Flask view: Flask's log handler then writes to
        # the server's error stream (`wsgi.errors`). Only failures pay for it.
        with self.app.request_context(environ):
            log(self.app, *args)
