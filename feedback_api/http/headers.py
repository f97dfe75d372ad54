"""The security headers of every response, in one place: which rules fit which answer.

Four kinds of answer leave this server:

- the published docs (WhiteNoise's files, and the site's 404 page from Flask): Material's
  pages carry inline scripts and styles of their own, so their CSP allows those but nothing
  from another origin, and no page may be framed;
- the pages Flask renders itself (the dashboard, the unsubscribe and confirm pages): nothing
  inline at all, nothing from elsewhere, never framed, never cached;
- the unsubscribe and confirm pages also keep their URL (a reader's token) out of any `Referer`;
- API answers (JSON, CSV, metrics): not to be rendered as a document at all.
"""

from __future__ import annotations

from flask import Flask, request
from flask_cors import CORS
from flask_cors.core import get_cors_headers, get_cors_options
from werkzeug.datastructures import EnvironHeaders

_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

# Flask-rendered HTML: scripts and styles are files of this origin, so markup smuggled past
# escaping could still neither run nor restyle the page.
APP_PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

APP_PAGE = {
    **_COMMON,
    "Content-Security-Policy": APP_PAGE_CSP,
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}

# The reader's token is the page's URL: no Referer carries it anywhere.
UNSUBSCRIBE_PAGE = {**APP_PAGE, "Referrer-Policy": "no-referrer"}


# The published site (mkdocs.yml sets `font: false`: nothing is loaded from elsewhere).
# Material's pages have inline scripts and style attributes, hence 'unsafe-inline' for
# those two only; the search worker and versions.json are same-origin.
def site_headers(api_origins: list[str] = ()) -> dict[str, str]:
    """The published pages' headers; the widget may post to an API on `api_origins` too."""
    csp = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            " ".join(["connect-src 'self'", *api_origins]),
            "object-src 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
        ]
    )
    return {
        **_COMMON,
        "Content-Security-Policy": csp,
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


API = {
    **_COMMON,
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}

_API_PATHS = ("/api/", "/healthz", "/readyz", "/metrics")


def rules_for(path: str, site: dict[str, str]) -> dict[str, str]:
    """The headers an answer for `path` gets (Flask's routes and WhiteNoise's files)."""
    if path.startswith("/dashboard"):
        return APP_PAGE
    if path.startswith(("/api/v1/unsubscribe/", "/api/v1/confirm/")):
        return UNSUBSCRIBE_PAGE
    if path.startswith(_API_PATHS):
        return API
    return site


def install(app: Flask) -> None:
    site = site_headers(app.config["SETTINGS"].site_api_origins)

    @app.after_request
    def _security_headers(response):
        for name, value in rules_for(request.path, site).items():
            response.headers.setdefault(name, value)
        if request.endpoint == "dashboard.static":
            # The dashboard's own CSS and script: revalidated, not forbidden to cache.
            response.headers["Cache-Control"] = "no-cache"
        return response


# The endpoints the docs' widget calls, from the docs' origin when that is another one.
CORS_PATHS = r"/api/v1/feedback*"


def install_cors(app: Flask) -> None:
    """Cross-origin grants for the feedback endpoints, to `TIDEWAY_ALLOWED_ORIGINS` only."""
    origins = app.config["SETTINGS"].allowed_origins
    if not origins:
        return
    # Only the configured docs origins get a grant: never "*", never a reflected origin.
    resource = {"origins": origins}
    options = {
        "resources": {CORS_PATHS: resource},
        "allow_headers": ["Content-Type", "Authorization", "Idempotency-Key"],
        "methods": ["POST", "PATCH"],
        "max_age": 600,
    }
    CORS(app, **options)
    # The grant as Flask-CORS resolves it for those paths (as its init_app does), for the
    # answers the WSGI edge gives without Flask (ingest/fast_path.py).
    app.extensions["feedback_cors"] = get_cors_options(app, options, resource)


def feedback_cors_headers(app: Flask, environ: dict, method: str) -> list[tuple[str, str]]:
    """The CORS headers Flask-CORS adds to an answer of the feedback endpoints."""
    options = app.extensions.get("feedback_cors")
    if options is None:
        return []
    granted = get_cors_headers(options, EnvironHeaders(environ), method)
    return [(name, str(value)) for name, value in granted.items()]
