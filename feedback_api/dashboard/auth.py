"""Sign-in, sign-out, idle and absolute expiry, and roles for the dashboard.

Sessions are Flask's signed cookies holding the user id, when the session began and was last
used, the user's session epoch and a fingerprint of the password hash. A session ends when it
was unused for `TIDEWAY_DASHBOARD_IDLE_MINUTES`, `TIDEWAY_DASHBOARD_SESSION_HOURS` after
sign-in however much it is used, and at once for every session of the user when their epoch
moves on: signing out, a new password, deactivation, `users end-sessions`. A cookie copied
before any of these opens nothing after it.
"""

from __future__ import annotations

import functools
import hashlib
import time
from urllib.parse import unquote

from flask import current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash

from feedback_api.http.limits import Limit, Refused, client_key, rate_counters
from feedback_api.review.accounts import SET_PASSWORD_COMMAND, end_sessions

from . import bp

# Checked when the account does not exist, so that a wrong name costs as long as a wrong
# password and timing does not tell which names exist. Written out rather than made at
# import, which cost every worker and every `flask` command 0.1 s; tests/test_dashboard.py
# holds its method and cost equal to those of a hash made now.
DUMMY_HASH = (
    "scrypt:32768:8:1$YNJFfqxQS5JB529z$ede592ec823a6198fd7d3b25018a5f0f4574b7caa9a893cfdf8be71"
    "ea74250adb10ea9ca77d72bd7122b76c7560742730a8bcfb1e7bc780ade1f227f54701478"
)


def _users():
    from feedback_api.store.models import User

    return User


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _store():
    return current_app.extensions["store"]


def load_user():
    """The signed-in user for this request (detached row), or None."""
    if "user" in g:
        return g.user
    g.user = None
    uid = session.get("uid")
    if uid is None:
        return None
    settings = current_app.config["SETTINGS"]
    now = time.time()
    if (
        now - session.get("seen", 0) > settings.dashboard_idle_minutes * 60
        or now - session.get("began", 0) > settings.dashboard_session_hours * 3600
    ):
        session.clear()
        g.session_expired = True
        return None
    with _store().transaction() as db:
        user = db.get(_users(), uid)
    if (
        user is None
        or not user.active
        or not user.password_hash
        or session.get("epoch") != user.session_epoch
        or session.get("pw") != _fingerprint(user.password_hash)
    ):
        session.clear()
        return None
    # Refreshed at most once a minute: fewer Set-Cookie headers, same expiry to the minute.
    if now - session.get("seen", 0) > 60:
        session["seen"] = now
    g.user = user
    return user


def signed_in(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if load_user() is None:
            return redirect(url_for("dashboard.index", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path of this site, never elsewhere.

    The path is judged as the browser will resolve it: percent-decoded, a dot segment
    (`..`, `%2e%2e`, `.`) or a backslash anywhere refuses it, so no spelling of the path
    normalises to somewhere outside /dashboard/.
    """
    if not target or "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return url_for("dashboard.index")
    path = target.split("#", 1)[0].split("?", 1)[0]
    decoded = path
    for _ in range(3):  # double encoding (%252e) decodes again on the next hop
        decoded = unquote(decoded)
    segments = decoded.split("/")
    if (
        path.startswith("/dashboard/")
        and decoded.startswith("/dashboard/")
        and "//" not in decoded
        and "\\" not in decoded
        and not any(segment in (".", "..") for segment in segments)
        and "%" not in decoded
        and not any(ord(c) < 0x21 for c in decoded)
    ):
        return target
    return url_for("dashboard.index")


def _signin_throttle() -> tuple[Limit, str]:
    """The sign-in throttle's limit and this client's key in the rate-limit counters.

    The rule: failed attempts count per client (the keyed hash of its address), across every
    process of the machine (or every machine, with Redis), and never per account name. A
    count per name would let anyone who knows a name keep its owner out by failing on
    purpose, from as many addresses as they like; a count per client slows a guesser down
    and locks out no one else. Each attempt is counted before the password is checked, so
    attempts sent in parallel cannot overshoot the limit, and given back when it succeeds:
    signing in costs nothing.
    """
    limits = current_app.extensions
    if "signin_limit" not in limits:
        limits["signin_limit"] = Limit(current_app.config["SETTINGS"].dashboard_signin_limit)
    return limits["signin_limit"], f"dashboard/signin/{client_key()}"


@bp.get("/")
def index():
    if load_user() is not None:
        from .queue import queue_page

        return queue_page()
    expired = g.get("session_expired", False)
    return render_template(
        "dashboard/signin.html", next=request.args.get("next", ""), expired=expired
    )


@bp.post("/sign-in")
def sign_in():
    limit, key = _signin_throttle()
    try:
        rate_counters().hit(limit, key)
    except Refused as refused:
        return _too_many_attempts(refused.retry_after)
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    with _store().transaction() as db:
        user = db.scalars(select(_users()).where(_users().name == name)).one_or_none()
    stored = user.password_hash if user is not None else None
    ok = check_password_hash(stored or DUMMY_HASH, password)
    if user is not None and user.active and not stored:
        return _refused(
            name,
            "This account has no password yet; an admin sets one with "
            f"`{SET_PASSWORD_COMMAND.replace('NAME', user.name)}`.",
        )
    if not (ok and user is not None and user.active):
        return _refused(name, "That name and password do not match an active account.")
    rate_counters().refund(limit, key)
    session.clear()
    now = time.time()
    session.update(
        uid=user.id,
        began=now,
        seen=now,
        epoch=user.session_epoch,
        pw=_fingerprint(user.password_hash),
    )
    return redirect(safe_next(request.form.get("next")), code=303)


def _refused(name: str, error: str):
    return render_template(
        "dashboard/signin.html", next=request.form.get("next", ""), error=error, name=name
    ), 401


@bp.post("/sign-out")
def sign_out():
    # Server-side: the user's epoch moves on, so this cookie, and any copy of it, is dead.
    user = load_user()
    if user is not None:
        with _store().transaction() as db:
            end_sessions(db, user.id)
    session.clear()
    return redirect(url_for("dashboard.index"), code=303)


def _too_many_attempts(retry_after: int):
    body = render_template(
        "dashboard/error.html",
        title="Too many sign-in attempts",
        message="Wait a few minutes, then try again.",
    )
    return body, 429, {"Retry-After": str(retry_after)}
