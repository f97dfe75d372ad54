"""The unsubscribe link in every mail to a reader: works without signing in.

GET shows a one-button page (a link scanner that follows GET changes nothing); POST, from
that button or a mail client's one-click unsubscribe (RFC 8058), forgets the address.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app
from markupsafe import escape

from . import notify

bp = Blueprint("unsubscribe", __name__, url_prefix="/api/v1")

PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><body style="font-family:sans-serif;max-width:36em;margin:3em auto">
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""


def _page(title: str, text: str, form: str = "", status: int = 200):
    html = PAGE.format(title=escape(title), text=escape(text), form=form)
    return html, status, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    form = (
        f'<form method="post" action="{escape(token)}">'
        '<button type="submit">Stop mail to my address</button></form>'
    )
    return _page(
        "Unsubscribe",
        "We will delete your e-mail address from the feedback you gave and send you no more mail.",
        form,
    )


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    with current_app.extensions["store"].transaction() as session:
        done = notify.unsubscribe(session.connection(), token, datetime.now(UTC))
    if not done:
        return _page("Link not recognised", "This unsubscribe link is not valid.", status=404)
    return _page("Unsubscribed", "Your address is deleted; you will get no more mail from us.")
