"""The unsubscribe link in every mail to a reader: works without signing in.

GET shows a one-button page (a link scanner that follows GET changes nothing); POST, from
that button or a mail client's one-click unsubscribe (RFC 8058), forgets the address.

The page is on the dashboard's origin, so the token (anyone's text) is never written into
markup as a URL: the form posts to the address the server builds for it with url_for. The
page's headers (strict CSP, no framing, no Referer) come from feedback_api.http.headers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, render_template, url_for

from . import notify

bp = Blueprint("unsubscribe", __name__, url_prefix="/api/v1", template_folder="templates")


def _page(title: str, text: str, action: str | None = None, status: int = 200):
    html = render_template("review/unsubscribe.html", title=title, text=text, action=action)
    return html, status, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    return _page(
        "Unsubscribe",
        "We will delete your e-mail address from the feedback you gave and send you no more mail.",
        action=url_for("unsubscribe.unsubscribe", token=token),
    )


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    with current_app.extensions["store"].transaction() as session:
        done = notify.unsubscribe(session.connection(), token, datetime.now(UTC))
    if not done:
        return _page("Link not recognised", "This unsubscribe link is not valid.", status=404)
    return _page("Unsubscribed", "Your address is deleted; you will get no more mail from us.")
