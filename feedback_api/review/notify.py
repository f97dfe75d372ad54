"""Mail for the closed loop: a durable outbox, SMTP delivery with retries, unsubscribe.

A mail is a row written in the same transaction as the decision that causes it (feedback
stored, task resolved, SLA breached), so it is never lost. Senders claim rows with a
conditional UPDATE before sending, so two senders never send the same row; a mail carries a
Message-ID derived from its row, so a receiver can tell the rare resend after a crash
between SMTP's answer and our commit.

Readers' addresses are anyone's text, so the server guards them (mail_addresses):
- the first mail to a new address is a confirmation with a link; the acknowledgement and the
  "fixed" note wait (`held`) until the reader confirms, and are dropped if they never do;
- unsubscribing suppresses the address for good, whatever its case, even after the address
  itself is deleted: nothing of a reader's kind is queued or sent to it again;
- at most `mail_daily_cap` reader mails go to one address in any 24 hours; more are dropped
  unsent with `cap` as their error.
The table keeps HMAC-SHA256(app secret, lower-cased address), not the address: the list
must outlive the address (which we delete once the reader is told), and a plain hash of an
address is reversed by hashing a list of addresses, which the key prevents.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import quote

from sqlalchemy import Connection, Engine, and_, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from feedback_api.store.models import Feedback, MailAddress, Outbox, Task, User

CLAIM_FOR = timedelta(minutes=2)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
READER_KINDS = ("ack", "resolved", "confirm")
CAP_WINDOW = timedelta(days=1)
# A reader who missed the confirmation gets a new one when they give the address again,
# but not sooner than this: a stranger cannot use it to mail an address over and over. A
# confirmation link works for as long, so a leaked old mail cannot confirm it later.
CONFIRM_AGAIN_AFTER = timedelta(days=7)

outbox = Outbox.__table__
feedback = Feedback.__table__
tasks = Task.__table__
users = User.__table__
addresses = MailAddress.__table__


@dataclass(frozen=True)
class ReaderMail:
    """What queuing a reader's mail needs: where links point, the key of the address list,
    and the cap per address."""

    public_url: str
    key: bytes
    daily_cap: int = 5

    @classmethod
    def from_settings(cls, settings, key: bytes) -> ReaderMail:
        return cls(public_url=settings.public_url, key=key, daily_cap=settings.mail_daily_cap)


def address_key(key: bytes, address: str) -> str:
    """The address as the list knows it: keyed, case-insensitive (`Casey@` is `casey@`)."""
    normal = address.strip().lower().encode()
    return hmac.new(key, b"tideway-mail-address\0" + normal, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class MailSettings:
    host: str | None
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "Tideway Docs <docs@localhost>"
    max_attempts: int = 12
    public_url: str = "http://127.0.0.1:8000/"

    @classmethod
    def from_settings(cls, settings) -> MailSettings:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            max_attempts=settings.mail_max_attempts,
            public_url=settings.public_url,
        )


def retry_wait(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failed attempt, at most six hours."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def page_link(public_url: str, version: str, page: str) -> str:
    return f"{public_url}{quote(version)}/{quote(page)}"


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url}api/v1/unsubscribe/{token}"


def confirm_url(public_url: str, token: str) -> str:
    return f"{public_url}api/v1/confirm/{token}"


def mail_text(body: str, unsubscribe_link: str | None) -> str:
    """What the reader reads: the body, and the way out of our mail where there is one."""
    if not unsubscribe_link:
        return body
    return (
        f"{body}\n\nYou get this because you asked to be told about this page. To get no more "
        f"mail from us: {unsubscribe_link}\n"
    )


def _enqueue(conn: Connection, now: datetime, public_url: str, **row) -> None:
    if row["kind"] in READER_KINDS:
        # Only the hash finds the row; the link itself is kept to be sent, as the body is.
        token = secrets.token_urlsafe(24)
        row["unsubscribe_hash"] = _hash(token)
        row["unsubscribe_url"] = unsubscribe_url(public_url, token)
    conn.execute(insert(outbox).values(created_at=now, next_attempt_at=now, attempts=0, **row))


def _insert_new(conn: Connection, values: dict) -> bool:
    """Insert a mail_addresses row unless one exists (also one a concurrent transaction is
    writing): True when this call made it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    done = conn.execute(dialect.insert(addresses).values(**values).on_conflict_do_nothing())
    return done.rowcount == 1


def _sent_today(conn: Connection, key: str, now: datetime) -> int:
    """Reader mails to the address in the last day that went or will go: not the ones the cap
    dropped, nor the ones held for a confirmation (counted when they are let go)."""
    counted = and_(
        outbox.c.held.is_(False), or_(outbox.c.last_error.is_(None), outbox.c.last_error != "cap")
    )
    return conn.scalar(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.address_hash == key, outbox.c.kind.in_(READER_KINDS))
        .where(outbox.c.created_at > now - CAP_WINDOW, counted)
    )


def _reader_mail(conn: Connection, mail: ReaderMail, now: datetime, held: bool, **row) -> None:
    """Queue one reader's mail, or record it dropped when the address is over its cap."""
    key = address_key(mail.key, row["to_address"])
    extra: dict = {"address_hash": key, "held": held}
    if not held and _sent_today(conn, key, now) >= mail.daily_cap:
        extra |= {"dropped_at": now, "last_error": "cap", "held": False}
    _enqueue(conn, now, mail.public_url, **row, **extra)


def _confirmation(conn: Connection, mail: ReaderMail, now: datetime, row: dict, link: str):
    token = secrets.token_urlsafe(24)
    key = address_key(mail.key, row["to_address"])
    conn.execute(
        update(addresses)
        .where(addresses.c.address_hash == key)
        .values(confirm_hash=_hash(token), confirm_sent_at=now)
    )
    _reader_mail(
        conn,
        mail,
        now,
        False,
        task_id=row["task_id"],
        feedback_id=row.get("feedback_id"),
        to_address=row["to_address"],
        kind="confirm",
        subject="Confirm that you want mail about this page",
        body=f"Someone gave this address with feedback on {link} and asked to be told when "
        "the page is fixed.\n\nIf it was you, confirm that you want mail about this page:"
        f"\n\n{confirm_url(mail.public_url, token)}\n\nIf it was not you, do nothing: we "
        "will not write to this address again about it.",
    )


def _send_or_hold(conn: Connection, mail: ReaderMail, now: datetime, link: str, **row) -> bool:
    """Queue a reader's mail as the address allows: to a confirmed address, now; to a new
    one, after a confirmation (queued here); to a suppressed one, never. True if queued."""
    key = address_key(mail.key, row["to_address"])
    if _insert_new(conn, {"address_hash": key, "created_at": now}):
        state = None
    else:
        state = conn.execute(select(addresses).where(addresses.c.address_hash == key)).one()
    if state is not None and state.suppressed_at is not None:
        return False
    confirmed = state is not None and state.confirmed_at is not None
    if not confirmed and (
        state is None
        or state.confirm_sent_at is None
        or state.confirm_sent_at <= now - CONFIRM_AGAIN_AFTER
    ):
        _confirmation(conn, mail, now, row, link)
    _reader_mail(conn, mail, now, not confirmed, **row)
    return True


def enqueue_ack(
    conn: Connection, task_id: int, rows: list[dict], title: str, mail: ReaderMail, now: datetime
) -> None:
    """The automatic acknowledgement: a person will look at what the reader wrote (held
    until the address is confirmed)."""
    public_url = mail.public_url
    for row in rows:
        if not (row.get("notify") and row.get("email")):
            continue
        link = page_link(public_url, row["version"], row["page"])
        _send_or_hold(
            conn,
            mail,
            now,
            link,
            task_id=task_id,
            feedback_id=row["id"],
            to_address=row["email"],
            kind="ack",
            subject=f"We got your feedback on “{title}”",
            body=f"Thank you for your feedback on {link}.\n\nA person on the documentation "
            "team will look at it, and we will write again when the page is fixed.",
        )


def _resolved_mail(page: str, version: str, fix_url: str | None, public_url: str):
    link = page_link(public_url, version, page)
    change = f"\nThe change: {fix_url}\n" if fix_url else ""
    return (
        "The page you told us about is fixed",
        f"You told us about a page of our documentation. It is fixed in version {version}:"
        f"\n\n{link}\n{change}\nThank you for helping us improve it.",
    )


def _readers_to_tell(conn: Connection, task_id: int) -> list[tuple[int, str]]:
    """(feedback id, address), once per address, of readers who asked to be told."""
    rows = conn.execute(
        select(feedback.c.id, feedback.c.email)
        .where(feedback.c.task_id == task_id, feedback.c.notify.is_(True))
        .where(feedback.c.email.is_not(None))
        .order_by(feedback.c.id)
    ).all()
    seen: set[str] = set()
    out = []
    for feedback_id, address in rows:
        if address.lower() not in seen:
            seen.add(address.lower())
            out.append((feedback_id, address))
    return out


def enqueue_resolved(conn: Connection, task_id: int, mail: ReaderMail, now: datetime) -> int:
    """Tell every reader who asked (once per address) that the page is fixed, and where:
    how many will be told (a suppressed address is not)."""
    task = conn.execute(select(tasks).where(tasks.c.id == task_id)).one()
    version = task.fixed_in_version or task.version
    subject, body = _resolved_mail(task.page, version, task.fix_url, mail.public_url)
    link = page_link(mail.public_url, task.version, task.page)
    told = 0
    for feedback_id, address in _readers_to_tell(conn, task_id):
        told += _send_or_hold(
            conn,
            mail,
            now,
            link,
            task_id=task_id,
            feedback_id=feedback_id,
            to_address=address,
            kind="resolved",
            subject=subject,
            body=body,
        )
    return told


def enqueue_staff(
    conn: Connection,
    task_id: int,
    user_ids: list[int],
    kind: str,
    subject: str,
    body: str,
    public_url: str,
    now: datetime,
) -> None:
    """Warnings and escalations to reviewers (no unsubscribe: it is their work)."""
    if not user_ids:
        return
    for (address,) in conn.execute(
        select(users.c.email).where(users.c.id.in_(user_ids), users.c.active.is_(True))
    ):
        _enqueue(
            conn,
            now,
            public_url,
            task_id=task_id,
            to_address=address,
            kind=kind,
            subject=subject,
            body=body,
        )


def _message(row, settings: MailSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = formatdate(localtime=True)
    domain = settings.sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    message["Message-ID"] = f"<tideway-outbox-{row.id}@{domain}>"
    if row.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{row.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail_text(row.body, row.unsubscribe_url))
    return message


def waiting(conn: Connection, limit: int = 50) -> tuple[int, list]:
    """Mail not yet sent nor dropped, oldest first: how many in all, and the first `limit`."""
    pending = and_(
        outbox.c.sent_at.is_(None),
        outbox.c.dropped_at.is_(None),
        outbox.c.to_address.is_not(None),
        outbox.c.held.is_(False),
    )
    total = conn.scalar(select(func.count()).select_from(outbox).where(pending))
    rows = conn.execute(select(outbox).where(pending).order_by(outbox.c.id).limit(limit)).all()
    return total or 0, rows


def held(conn: Connection) -> int:
    """Reader mail waiting for its address to be confirmed (not sent until it is)."""
    return conn.scalar(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.held.is_(True), outbox.c.sent_at.is_(None), outbox.c.dropped_at.is_(None))
    )


def _claim(engine: Engine, now: datetime, limit: int) -> list:
    due = and_(
        outbox.c.sent_at.is_(None),
        outbox.c.dropped_at.is_(None),
        outbox.c.to_address.is_not(None),
        outbox.c.held.is_(False),
        outbox.c.next_attempt_at <= now,
        or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    )
    with engine.connect() as conn:
        ids = conn.scalars(select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)).all()
    claimed = []
    for row_id in ids:
        with engine.begin() as conn:
            done = conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id, due)
                .values(claimed_until=now + CLAIM_FOR, attempts=outbox.c.attempts + 1)
            )
            if done.rowcount == 1:
                claimed.append(conn.execute(select(outbox).where(outbox.c.id == row_id)).one())
    return claimed


def deliver(
    engine: Engine, settings: MailSettings, now: datetime | None = None, limit: int = 200
) -> dict[str, int]:
    """Send the mail that is due; failures wait (doubling) and are tried again."""
    if not settings.host:
        return {"sent": 0, "failed": 0, "dropped": 0}
    now = now or datetime.now(UTC)
    _drop_suppressed(engine, now)
    rows = _claim(engine, now, limit)
    counts = {"sent": 0, "failed": 0, "dropped": 0}
    if not rows:
        return counts
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        for row in rows:
            counts[_failed(engine, row, exc, settings, now)] += 1
        return counts
    try:
        for row in rows:
            try:
                smtp.send_message(_message(row, settings))
            except (OSError, smtplib.SMTPException) as exc:
                counts[_failed(engine, row, exc, settings, now)] += 1
                continue
            with engine.begin() as conn:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(sent_at=datetime.now(UTC), claimed_until=None, last_error=None)
                )
            counts["sent"] += 1
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return counts


def _drop_suppressed(engine: Engine, now: datetime) -> None:
    """Whatever was queued, nothing of a reader's kind goes to a suppressed address."""
    suppressed = select(addresses.c.address_hash).where(addresses.c.suppressed_at.is_not(None))
    with engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.sent_at.is_(None), outbox.c.dropped_at.is_(None))
            .where(outbox.c.address_hash.in_(suppressed))
            .values(dropped_at=now, last_error="unsubscribed")
        )


def _connect(settings: MailSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=10)
    if settings.starttls:
        smtp.starttls(context=ssl.create_default_context())
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _failed(engine: Engine, row, exc: Exception, settings: MailSettings, now: datetime) -> str:
    give_up = row.attempts >= settings.max_attempts
    values = {"claimed_until": None, "last_error": f"{type(exc).__name__}: {exc}"[:500]}
    if give_up:
        values["dropped_at"] = now
    else:
        values["next_attempt_at"] = now + retry_wait(row.attempts)
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(**values))
    return "dropped" if give_up else "failed"


def _suppress(conn: Connection, key: str, now: datetime) -> None:
    if not _insert_new(conn, {"address_hash": key, "created_at": now, "suppressed_at": now}):
        conn.execute(
            update(addresses)
            .where(addresses.c.address_hash == key, addresses.c.suppressed_at.is_(None))
            .values(suppressed_at=now, confirm_hash=None)
        )


def unsubscribe(conn: Connection, token: str, mail_key: bytes, now: datetime) -> bool:
    """Suppress the reader's address for good, forget it everywhere, and drop their unsent
    mail. No sign-in: the token in the link is the credential (only its hash is stored)."""
    row = conn.execute(
        select(outbox.c.to_address, outbox.c.address_hash).where(
            outbox.c.unsubscribe_hash == _hash(token)
        )
    ).first()
    if row is None:
        return False
    address = row.to_address
    key = row.address_hash or (address_key(mail_key, address) if address else None)
    if key:
        _suppress(conn, key, now)
        conn.execute(
            update(outbox)
            .where(outbox.c.address_hash == key, outbox.c.kind.in_(READER_KINDS))
            .where(outbox.c.sent_at.is_(None), outbox.c.dropped_at.is_(None))
            .values(dropped_at=now, last_error="unsubscribed", held=False)
        )
    if address:
        same = func.lower(feedback.c.email) == address.strip().lower()
        conn.execute(update(feedback).where(same).values(email=None, notify=False))
        to_same = func.lower(outbox.c.to_address) == address.strip().lower()
        conn.execute(
            update(outbox)
            .where(to_same, outbox.c.kind.in_(READER_KINDS))
            .where(outbox.c.sent_at.is_(None), outbox.c.dropped_at.is_(None))
            .values(dropped_at=now, last_error="unsubscribed", held=False)
        )
        conn.execute(
            update(outbox).where(to_same, outbox.c.kind.in_(READER_KINDS)).values(to_address=None)
        )
    return True


def confirm(conn: Connection, token: str, now: datetime, daily_cap: int) -> str:
    """The reader confirms their address: the mail held for it goes out. `confirmed`, or
    `unknown` for a link we do not know or an address that asked for no more mail, or
    `expired` for an unused link older than `CONFIRM_AGAIN_AFTER`."""
    state = conn.execute(select(addresses).where(addresses.c.confirm_hash == _hash(token))).first()
    if state is None or state.suppressed_at is not None:
        return "unknown"
    if state.confirmed_at is None and state.confirm_sent_at <= now - CONFIRM_AGAIN_AFTER:
        return "expired"
    if state.confirmed_at is None:
        conn.execute(
            update(addresses)
            .where(addresses.c.address_hash == state.address_hash)
            .values(confirmed_at=now)
        )
    held = conn.scalars(
        select(outbox.c.id)
        .where(outbox.c.address_hash == state.address_hash, outbox.c.held.is_(True))
        .where(outbox.c.sent_at.is_(None), outbox.c.dropped_at.is_(None))
        .order_by(outbox.c.id)
    ).all()
    room = max(daily_cap - _sent_today(conn, state.address_hash, now), 0)
    if held[:room]:
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(held[:room]))
            .values(held=False, next_attempt_at=now)
        )
    if held[room:]:
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(held[room:]))
            .values(held=False, dropped_at=now, last_error="cap")
        )
    return "confirmed"


def purge_addresses(conn: Connection) -> int:
    """Delete readers' addresses of closed tasks once no mail to them is pending."""
    pending = exists().where(
        outbox.c.task_id == tasks.c.id,
        outbox.c.kind.in_(READER_KINDS),
        outbox.c.sent_at.is_(None),
        outbox.c.dropped_at.is_(None),
        outbox.c.held.is_(False),
    )
    done = (
        select(tasks.c.id)
        .where(tasks.c.state == "closed", ~pending)
        .where(exists().where(feedback.c.task_id == tasks.c.id, feedback.c.email.is_not(None)))
    )
    ids = conn.scalars(done).all()
    if not ids:
        return 0
    result = conn.execute(
        update(feedback)
        .where(feedback.c.task_id.in_(ids), feedback.c.email.is_not(None))
        .values(email=None)
    )
    # Mail held for an address nobody confirmed is never sent.
    conn.execute(
        update(outbox)
        .where(outbox.c.task_id.in_(ids), outbox.c.held.is_(True))
        .where(outbox.c.sent_at.is_(None), outbox.c.dropped_at.is_(None))
        .values(held=False, dropped_at=datetime.now(UTC), last_error="unconfirmed")
    )
    conn.execute(
        update(outbox)
        .where(outbox.c.task_id.in_(ids), outbox.c.kind.in_(READER_KINDS))
        .values(to_address=None)
    )
    return result.rowcount
