"""Tables. Every schema change goes through an Alembic migration in migrations/versions/."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints keep migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both stores (SQLite keeps no offset; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use datetime.now(UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feedback(Base):
    """One row per reader submission."""

    __tablename__ = "feedback"
    # Reports read ratings by time, and a page's ratings of one version (migrations 0003, 0005);
    # intake asks which of a batch's readers a task already has (0006). Nothing else: each
    # index is one more page in every fsynced commit (0007).
    __table_args__ = (
        Index("ix_feedback_page_version_created", "page", "version", "created_at"),
        Index("ix_feedback_created_rating", "created_at", "page", "version", "rating"),
        Index("ix_feedback_task_client", "task_id", "client_hash"),
        # Only the few rows acknowledged but not yet routed (0012): the writer's restart.
        Index(
            "ix_feedback_unrouted",
            "id",
            sqlite_where=text("NOT routed"),
            postgresql_where=text("NOT routed"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page: Mapped[str] = mapped_column(String(512))
    version: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    selection: Mapped[str | None] = mapped_column(Text, nullable=True)
    anchor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Kept only with the reader's consent (notify); deleted once they have been told.
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(35), nullable=True)
    # A keyed hash of the client's address (never the address): distinct readers, abuse.
    client_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # SHA-256 of the amend token; the token itself is never stored.
    amend_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    amended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    # SHA-256 of the canonical request body: a replay with another body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    # The review task the submission landed on; NULL for a signal without work.
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True)
    # False from the acknowledgement until the writer has routed it (review/routing.py).
    routed: Mapped[bool] = mapped_column(Boolean, server_default=true())


class PageReader(Base):
    """A reader's latest feedback that asked for work on a page of a version (migration 0006).

    The priority rules count distinct readers of a page in a window; one row per reader keeps
    that count from growing with the page's submissions. Written by the intake hook in the
    batch's transaction, pruned past the longest window by the SLA sweep.
    """

    __tablename__ = "page_readers"
    __table_args__ = (Index("ix_page_readers_page_version_last_at", "page", "version", "last_at"),)

    page: Mapped[str] = mapped_column(String(512), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RatingsByPage(Base):
    """Ratings per UTC day of each page of a version (migration 0011).

    Kept by the intake hook in the transaction that stores the submissions, so a report over
    a period reads one row per page and day instead of every submission (a rating never
    changes once stored: amending adds details only).
    """

    __tablename__ = "ratings_by_page"
    __table_args__ = {"sqlite_with_rowid": False}  # rows kept in key order: one range read

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    page: Mapped[str] = mapped_column(String(512), primary_key=True)
    ratings: Mapped[int] = mapped_column(Integer)
    helpful: Mapped[int] = mapped_column(Integer)


class RatingsByTeam(Base):
    """Ratings per UTC day of each version, by the team the page was routed to when rated
    (migration 0011): a few rows a day, whatever the number of pages."""

    __tablename__ = "ratings_by_team"
    __table_args__ = {"sqlite_with_rowid": False}  # rows kept in key order: one range read

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    team: Mapped[str] = mapped_column(String(64), primary_key=True)
    ratings: Mapped[int] = mapped_column(Integer)
    helpful: Mapped[int] = mapped_column(Integer)


# -- Review work: reviewers, their API tokens, tasks, the audit trail and the mail outbox --


class User(Base):
    """A reviewer or an admin: owns tasks, signs in to the dashboard, holds API tokens."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # the login name
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="reviewer")  # reviewer | admin
    team: Mapped[str] = mapped_column(String(64), index=True)
    tier: Mapped[int] = mapped_column(SmallInteger, default=1)  # support tier 1..3
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: datetime.now(UTC))
    # Every dashboard session carries the epoch it was signed in under; raising it (sign-out,
    # a new password, deactivation, `users end-sessions`) ends them all (migration 0009).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiToken(Base):
    """A bearer token for the reviewer API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: datetime.now(UTC))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Refused after this time (migration 0009); `tokens create --days` sets it.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Task(Base):
    """Review work on one page of one version; feedback that asks for work joins it."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page: Mapped[str] = mapped_column(String(512))
    version: Mapped[str] = mapped_column(String(64))
    # "version\npage" while the task is open, else NULL: the unique constraint allows one
    # open task per page and version on both stores, even with several writers at once.
    open_key: Mapped[str | None] = mapped_column(String(600), unique=True, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="new", index=True)
    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16), index=True)
    priority_rule: Mapped[str] = mapped_column(Text, default="")
    team: Mapped[str] = mapped_column(String(64), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    tier: Mapped[int] = mapped_column(SmallInteger, default=1)
    feedback_count: Mapped[int] = mapped_column(Integer, default=0)
    reader_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_due: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    first_response_warn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolution_due: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    resolution_warn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fixed_in_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fix_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    previous_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True)
    # Set once each by the sweep (a conditional UPDATE), so a warning or an escalation
    # happens once however many sweeps run at the same time.
    response_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    response_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    # The deadline that matters now: first response until there is one, then resolution;
    # NULL once the task is no longer open. The queue sorts on it.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)


class TaskEvent(Base):
    """The append-only audit trail of a task: who, when, what changed from what to what, why."""

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))
    from_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    to_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Outbox(Base):
    """A mail to send: written in the transaction that decided it, sent later with retries."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), nullable=True, index=True)
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"), nullable=True)
    to_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # ack | resolved | warning | escalation
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # A sender holds a row until this time; another sender skips it meanwhile.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set when the mail will never be sent (unsubscribed, or out of attempts).
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    unsubscribe_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # The reader's own link, sent in the footer and the List-Unsubscribe header.
    unsubscribe_url: Mapped[str | None] = mapped_column(String(600), nullable=True)
    # A reader's mail: the keyed hash of the address (MailAddress), kept when the address
    # itself is deleted, so that the cap per address and unsubscribing still find it.
    address_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Waiting for the reader to confirm the address: not sent until then.
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("ix_outbox_address_hash_created_at", "address_hash", "created_at"),)


class MailAddress(Base):
    """What we know of a reader's address: confirmed, or suppressed for good.

    The address itself is not kept: `address_hash` is HMAC-SHA256 of the lower-cased address
    under the app secret, so the list outlives the address being deleted from feedback and
    the outbox, and a copy of the database does not tell whose addresses were on it.
    """

    __tablename__ = "mail_addresses"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The confirmation link's token, hashed like an unsubscribe token.
    confirm_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    confirm_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set by unsubscribing: no reader mail is queued or sent to this address again.
    suppressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
