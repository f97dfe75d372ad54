"""The dashboard's session cookie flags, the CSRF check, and HTML error pages. Its
security headers (a strict CSP and companions) come from feedback_api.http.headers."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from feedback_api.http.errors import log_store_unavailable

from . import bp, csrf


def request_is_https() -> bool:
    if request.is_secure:
        return True
    # Only a trusted proxy's word counts (the same setting that trusts X-Forwarded-For).
    if current_app.config["SETTINGS"].proxy_count:
        return request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip() == "https"
    return False


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, `Secure` whenever the request came over HTTPS."""

    def open_session(self, app, request):
        # The cookie's path is /dashboard, so no other request carries one: Flask's null
        # session there spares every API request building a signing serializer.
        if not request.path.startswith(app.config["SESSION_COOKIE_PATH"]):
            return None
        return super().open_session(app, request)

    def get_cookie_secure(self, app) -> bool:
        if app.config["SETTINGS"].dashboard_cookie_secure == "always":
            return True
        return request_is_https()


@bp.before_request
def check_csrf() -> None:
    # Every state-changing request of the dashboard, sign-in included (login CSRF).
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def error_page(status: int, title: str, message: str):
    return render_template("dashboard/error.html", title=title, message=message), status


@bp.errorhandler(CSRFError)
def csrf_refused(exc: CSRFError):
    return error_page(
        400,
        "The form had expired",
        "This form's security token was missing or no longer valid, so nothing was changed. "
        "Go back, reload the page and try again.",
    )


@bp.errorhandler(403)
def forbidden(exc):
    return error_page(403, "Not allowed", exc.description or "Your role does not allow this.")


@bp.errorhandler(404)
def not_found(exc):
    return error_page(404, "Not found", "There is no such page or task.")


@bp.errorhandler(409)
def conflict(exc):
    return error_page(409, "That change is not possible", exc.description or "")


def http_error_page(exc: HTTPException):
    """The page for an HTTP error outside the blueprint's routes (a /dashboard path that
    matched none, such as a task number too large to be one)."""
    if exc.code == 404:
        return not_found(exc)
    return error_page(exc.code or 500, exc.name, exc.description or "")


@bp.errorhandler(OperationalError)
def store_unavailable(exc: OperationalError):
    log_store_unavailable(current_app, exc)
    page, status = error_page(
        503,
        "Try again in a moment",
        "The store is busy or unreachable, so nothing was changed. Reload in a few seconds.",
    )
    return page, status, {"Retry-After": "5"}


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return exc
    # A page, not the API's JSON; the log keeps the stack trace, the reviewer never sees it.
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return error_page(500, "Something went wrong", "The error was logged; try again shortly.")
