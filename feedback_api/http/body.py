"""Reading what a client sent: the JSON body (size, type, syntax), validation errors in the
one error shape, and the keyed hash that stands in for the client's address."""

from __future__ import annotations

import hashlib
import hmac
import io
import ipaddress
import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import current_app, g, request
from pydantic import ValidationError
from werkzeug.exceptions import RequestTimeout
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import APIError

MAX_BODY = 16 * 1024


def json_object(content_length: int | None, mimetype: str, read: Callable[[], bytes]) -> dict:
    """The body as a JSON object (every endpoint that takes a body takes an object), checked
    in this order: size (413, before `read` is called), media type (415), syntax (400), shape.

    Framework-free: the Flask views (read_json_object) and the WSGI edge's fast path for
    feedback submissions (feedback_api/ingest/fast_path.py) both answer through it.
    """
    if content_length is not None and content_length > MAX_BODY:
        raise APIError(413, "payload_too_large", "The body is larger than 16 KiB.")
    if mimetype != "application/json":
        raise APIError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        payload = json.loads(read())
    except (ValueError, RecursionError):
        raise APIError(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise invalid("The body must be a JSON object.")
    return payload


def bearer_token() -> str:
    """The credential of an `Authorization: Bearer` header; empty when there is none."""
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.startswith("Bearer ") else ""


def read_json_object() -> dict:
    """The request's body as a JSON object (see json_object), parsed once per request."""
    if "parsed_body" not in g:
        g.parsed_body = json_object(
            request.content_length, request.mimetype, lambda: request.get_data(cache=True)
        )
    return g.parsed_body


def invalid(message: str, field: str | None = None, problem: str | None = None) -> APIError:
    """The one `validation_failed` answer; `field` names what was wrong, when one thing was."""
    details = [{"field": field, "problem": problem or message}] if field else None
    return APIError(422, "validation_failed", message, details)


class FieldProblem(ValueError):
    """A cross-field rule that names the field at fault (pydantic reports model-level
    errors without a location; this restores it in the answer's `details`)."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field


def validation_error(exc: ValidationError) -> APIError:
    details = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        loc = cause.field if isinstance(cause, FieldProblem) else None
        loc = loc or ".".join(str(p) for p in err["loc"]) or "(body)"
        problem = err["msg"].removeprefix("Value error, ")
        details.append({"field": loc, "problem": problem})
    return APIError(422, "validation_failed", "Some fields are not valid.", details)


def client_hash() -> str:
    """The keyed hash of this request's client (see client_hash_of)."""
    return client_hash_of(current_app.config["SECRET"], request.remote_addr)


def client_hash_of(secret: bytes, address: str | None) -> str:
    """A keyed hash of the client address that rotates daily; the address is never kept."""
    day = datetime.now(UTC).date()
    cached = _day_keys.get(secret)
    if cached is None or cached[0] != day:
        # The MAC keyed and fed with today's prefix, copied for each address.
        prefix = f"client:{day.isoformat()}:".encode()
        cached = _day_keys[secret] = (day, hmac.new(secret, prefix, hashlib.sha256))
    mac = cached[1].copy()
    mac.update(client_network(address).encode())
    return mac.hexdigest()[:32]


def behind_proxies(wsgi_app, proxy_count: int):
    """`wsgi_app` taking the client's address from the last `proxy_count` proxies'
    X-Forwarded-For (`TIDEWAY_PROXY_COUNT`): the limits and the client hash count by it."""
    return ProxyFix(wsgi_app, x_for=proxy_count) if proxy_count else wsgi_app


def client_network(address: str | None) -> str:
    """What one client is counted by: an IPv4 address, or the /64 of an IPv6 one.

    An IPv6 subscriber gets a whole /64 (often more) and picks addresses in it at will:
    counted by address, one stranger would be millions of clients to the limits and as many
    distinct readers to the triage rules. An IPv4 address written as IPv6 (`::ffff:a.b.c.d`,
    from a dual-stack socket) is that IPv4 address.
    """
    if not address or ":" not in address:
        return address or "unknown"
    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])  # without a zone (`%eth0`)
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


_day_keys: dict[bytes, tuple] = {}


# The WSGI environ's mark that a body came too late (buffer_body -> refuse_late_body).
BODY_LATE = "tideway.body_late"


def buffer_body(environ: dict, seconds: float) -> None:
    """Read the request's body whole within `seconds`, before the app sees the request.

    gunicorn gives the request line and headers a deadline (its keep-alive timeout), but
    not the body, which the app reads: a client that sends a body a byte at a time held a
    connection (a greenlet of a gevent worker) for as long as it liked, and enough of them
    filled every worker's connections. A body too late is not passed on: the app answers
    `408` (refuse_late_body, or the fast path of feedback_api/ingest/fast_path.py), and gunicorn
    drops the rest of it under its keep-alive timeout.
    A body larger than MAX_BODY is left to the app, which refuses it unread (413).
    """
    length = environ.get("CONTENT_LENGTH") or ""
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not chunked and not (length.isdigit() and 0 < int(length) <= MAX_BODY):
        return
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return  # not served by gunicorn (the test client, a WSGI server with its own limits)
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    try:
        with _deadline(sock, seconds):
            size = 0
            while size <= MAX_BODY:
                chunk = stream.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except TimeoutError:
        environ[BODY_LATE] = True
        chunks = []
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)


@contextmanager
def _deadline(sock, seconds: float):
    """`seconds` for the whole block, then TimeoutError: a gevent timer when gevent patched
    the sockets (the served case), else a timeout on each of the socket's waits."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        from gevent import Timeout

        with Timeout(seconds, TimeoutError):
            yield
        return
    previous = sock.gettimeout()
    sock.settimeout(seconds)
    try:
        yield
    finally:
        sock.settimeout(previous)


def refuse_late_body() -> None:
    """First of the app's before-request hooks: a body that came too late is refused before
    anything else looks at the request (authentication included: nothing of it is read)."""
    if request.environ.get(BODY_LATE):
        raise RequestTimeout()
