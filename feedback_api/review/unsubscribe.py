"""The reader's links, which work without signing in: unsubscribe (in every mail to a
reader) and confirm (in the first mail to a new address).

GET shows a one-button page (a link scanner that follows GET changes nothing); POST, from
that button or a mail client's one-click unsubscribe (RFC 8058), forgets the address and
suppresses it for good, or confirms it and sends the mail held for it.

The page is on the dashboard's origin, so the token (anyone's text) is never written into
markup as a URL: the form posts to the address the server builds for it with url_for. The
page's headers (strict CSP, no framing, no Referer) come from feedback_api.http.headers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, render_template, url_for

from . import notify

bp = Blueprint("unsubscribe", __name__, url_prefix="/api/v1", template_folder="templates")


def _page(
    title: str,
    text: str,
    action: str | None = None,
    status: int = 200,
    button: str = "Stop mail to my address",
):
    html = render_template(
        "review/unsubscribe.html", title=title, text=text, action=action, button=button
    )
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
        done = notify.unsubscribe(session.connection(), token, _key(), datetime.now(UTC))
    if not done:
        return _page("Link not recognised", "This unsubscribe link is not valid.", status=404)
    return _page("Unsubscribed", "Your address is deleted; you will get no more mail from us.")


@bp.get("/confirm/<token>")
def confirm_page(token: str):
    return _page(
        "Confirm your address",
        "Confirm that you want mail about this page: we will tell you that we got your "
        "feedback, and write again when the page is fixed.",
        action=url_for("unsubscribe.confirm_address", token=token),
        button="Confirm that you want mail about this page",
    )


@bp.post("/confirm/<token>")
def confirm_address(token: str):
    with current_app.extensions["store"].transaction() as session:
        cap = current_app.extensions["review"].intake.mail.daily_cap
        outcome = notify.confirm(session.connection(), token, datetime.now(UTC), cap)
    if outcome == "expired":
        return _page(
            "Link expired",
            "This confirmation link is more than a week old. Give your address again with your "
            "next feedback and we will send a new one.",
            status=410,
        )
    if outcome == "unknown":
        return _page("Link not recognised", "This confirmation link is not valid.", status=404)
    return _page("Confirmed", "Thank you: we will write to you about this page.")


def _key() -> bytes:
    return current_app.extensions["review"].intake.mail.key
