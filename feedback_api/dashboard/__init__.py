"""The reviewers' dashboard at /dashboard/: sign-in, the queue, a task page and insights.

Server-rendered HTML under a strict Content Security Policy (no inline script or style),
signed-cookie sessions, and a CSRF token on every form. Everything shown that a reader
wrote goes through the `reader` filter (escaped, bidi-isolated) and no reader string
becomes a link target without `links.py` checking it against the published site.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
csrf = CSRFProtect()


def init_dashboard(app: Flask) -> None:
    """Sessions, CSRF and the blueprint; called once from create_app()."""
    from . import auth, insights, queue, security, task, text  # noqa: F401  (routes on bp)

    # A key of its own, derived from the server secret: a leaked session key does not
    # reveal the secret behind amend tokens and client hashes.
    app.secret_key = hmac.new(app.config["SECRET"], b"dashboard-session", hashlib.sha256).digest()
    app.config.update(
        SESSION_COOKIE_NAME="tideway_dashboard",
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Checked only by the dashboard's own before_request: the public JSON API has no
        # cookies to protect, and must not start asking its callers for a token.
        WTF_CSRF_CHECK_DEFAULT=False,
        # The token lives as long as the session; idle expiry ends both.
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.session_interface = security.DashboardSessionInterface()
    csrf.init_app(app)
    app.register_blueprint(bp)
