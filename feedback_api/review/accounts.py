"""Reviewers and their API tokens (created from the CLI, tokens stored only as SHA-256), and
the reviewers as task routing and escalation see them."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from feedback_api.store.models import ApiToken, Task, User

from .core import triage

ROLES = ("reviewer", "admin")
TOKEN_PREFIX = "tdw_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# last_used_at is written at most this often per token, so reads do not all become writes.
TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 12
TOKEN_DAYS = 90  # a new token's lifetime unless `tokens create --days` says otherwise
SET_PASSWORD_COMMAND = "flask --app feedback_api users set-password NAME --password-stdin"


class AccountError(ValueError):
    """A user or token cannot be created or changed as asked; the message says why."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    name: str,
    email: str,
    *,
    role: str = "reviewer",
    team: str,
    tier: int = 1,
    display_name: str = "",
    password: str | None = None,
) -> User:
    if not _NAME.match(name):
        raise AccountError(f"{name!r} is not a login name like ana or li.wei (a-z, 0-9, . _ -).")
    if role not in ROLES:
        raise AccountError(f"The role must be one of {', '.join(ROLES)}.")
    if tier not in (1, 2, 3):
        raise AccountError("The tier must be 1, 2 or 3.")
    if "@" not in email:
        raise AccountError(f"{email!r} is not an e-mail address.")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise AccountError(f"There is already a user called {name}.")
    user = User(
        name=name,
        email=email,
        display_name=display_name or name,
        role=role,
        team=team,
        tier=tier,
        active=True,
        created_at=datetime.now(UTC),
        password_hash=_password_hash(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"A password needs at least {MIN_PASSWORD} characters; this one has {len(password)}."
        )
    return generate_password_hash(password)


def set_password(session: Session, name: str, password: str) -> User:
    """A new dashboard password; every session signed in before it ends."""
    user = find_user(session, name)
    user.password_hash = _password_hash(password)
    user.session_epoch += 1
    return user


def set_active(session: Session, name: str, active: bool) -> User:
    """Deactivate (no sign-in, no token works, no new tasks routed) or reactivate NAME."""
    user = find_user(session, name)
    user.active = active
    if not active:
        user.session_epoch += 1
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """Every dashboard session of the user ends now (their cookies stay signed but stale)."""
    session.execute(
        update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1)
    )


def find_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"There is no user called {name}.")
    return user


def set_role(session: Session, name: str, role: str) -> User:
    if role not in ROLES:
        raise AccountError(f"The role must be one of {', '.join(ROLES)}.")
    user = find_user(session, name)
    user.role = role
    return user


def create_token(
    session: Session, user: User, label: str = "", days: int = TOKEN_DAYS
) -> tuple[str, datetime]:
    """A new bearer token for `user` and when it expires; shown once, only its hash is kept."""
    if not 1 <= days <= 3650:
        raise AccountError("A token lasts from 1 to 3650 days.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(days=days)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_token(token),
            name=label,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return token, expires


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    )


def revoke_tokens(session: Session, user: User, token_id: int | None = None) -> int:
    """Revoke the user's live tokens, or only the one numbered `token_id` (`tokens list`)."""
    query = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        token = session.get(ApiToken, token_id)
        if token is None or token.user_id != user.id:
            raise AccountError(f"{user.name} has no token {token_id} (`tokens list {user.name}`).")
        query = query.where(ApiToken.id == token_id)
    return session.execute(query.values(revoked_at=datetime.now(UTC))).rowcount


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a live token (not revoked, not expired) belongs to, or None."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.User.active:
        return None
    now = datetime.now(UTC)
    if row.ApiToken.expires_at is not None and row.ApiToken.expires_at <= now:
        return None
    if row.ApiToken.last_used_at is None or now - row.ApiToken.last_used_at > TOUCH_EVERY:
        row.ApiToken.last_used_at = now
    return row.User


def routing_members(conn: Connection) -> list[triage.Member]:
    """The active reviewers as routing and escalation see them: team, tier, open tasks owned."""
    tasks = Task.__table__
    open_counts = dict(
        conn.execute(
            select(tasks.c.owner_id, func.count())
            .where(tasks.c.state.in_(triage.OPEN_STATES), tasks.c.owner_id.is_not(None))
            .group_by(tasks.c.owner_id)
        ).all()
    )
    users = User.__table__
    return [
        triage.Member(u.id, u.name, u.team, u.tier, open_counts.get(u.id, 0))
        for u in conn.execute(select(users).where(users.c.active.is_(True)))
    ]
