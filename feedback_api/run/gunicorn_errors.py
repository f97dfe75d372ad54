"""gunicorn's own answers to requests it cannot parse, in the API's error shape.

gunicorn refuses a request line that is too long, too many or too large header fields, a
malformed line or header and an unknown transfer coding before the app sees the request,
with a bare HTML page of its own: no security headers, and the stranger's bytes in it
(escaped). Here the same refusals are the one JSON error shape (http/errors.py) with the
API's headers (http/headers.py), a fixed message for each code, the connection closed as
gunicorn closes it.
"""

from __future__ import annotations

import gunicorn.util


def write_error(sock, status: int, reason: str, _message: str) -> None:
    """gunicorn.util.write_error's replacement; gunicorn's message (which quotes the
    request) is not sent."""
    from feedback_api.http.errors import ERROR_CODES, HTTP_CODES, error_body
    from feedback_api.http.headers import API

    # gunicorn's statuses (gunicorn/workers/base.py: handle_error) each have their code.
    code = HTTP_CODES.get(status)
    if code not in ERROR_CODES:
        code = "bad_request" if status < 500 else "internal_error"
    body = error_body(code, ERROR_CODES[code][1])
    head = [
        f"HTTP/1.1 {status} {reason}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in API.items()),
    ]
    gunicorn.util.write_nonblock(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def install() -> None:
    # The workers' handle_error looks write_error up on the module at each call.
    gunicorn.util.write_error = write_error
