"""Mail for the closed loop: a durable outbox, SMTP delivery with retries, unsubscribe.

A mail is a row written in the same transaction as the decision that causes it (feedback
stored, task resolved, SLA breached), so it is never lost. Senders claim rows with a
conditional UPDATE before sending, so two senders never send the same row; a mail carries a
Message-ID derived from its row, so a receiver can tell the rare resend after a crash
between SMTP's answer and our commit.
"""

from __future__ import annotations

import hashlib
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import quote

from sqlalchemy import Connection, Engine, and_, exists, func, insert, or_, select, update

from feedback_api.store.models import Feedback, Outbox, Task, User

CLAIM_FOR = timedelta(minutes=2)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
READER_KINDS = ("ack", "resolved")

outbox = Outbox.__table__
feedback = Feedback.__table__
tasks = Task.__table__
users = User.__table__


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


def enqueue_ack(
    conn: Connection, task_id: int, rows: list[dict], title: str, public_url: str, now: datetime
) -> None:
    """The automatic confirmation: a person will look at what the reader wrote."""
    for row in rows:
        if not (row.get("notify") and row.get("email")):
            continue
        link = page_link(public_url, row["version"], row["page"])
        _enqueue(
            conn,
            now,
            public_url,
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


def enqueue_resolved(conn: Connection, task_id: int, public_url: str, now: datetime) -> int:
    """Tell every reader who asked (once per address) that the page is fixed, and where."""
    task = conn.execute(select(tasks).where(tasks.c.id == task_id)).one()
    version = task.fixed_in_version or task.version
    subject, body = _resolved_mail(task.page, version, task.fix_url, public_url)
    readers = _readers_to_tell(conn, task_id)
    for feedback_id, address in readers:
        _enqueue(
            conn,
            now,
            public_url,
            task_id=task_id,
            feedback_id=feedback_id,
            to_address=address,
            kind="resolved",
            subject=subject,
            body=body,
        )
    return len(readers)


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
        outbox.c.sent_at.is_(None), outbox.c.dropped_at.is_(None), outbox.c.to_address.is_not(None)
    )
    total = conn.scalar(select(func.count()).select_from(outbox).where(pending))
    rows = conn.execute(select(outbox).where(pending).order_by(outbox.c.id).limit(limit)).all()
    return total or 0, rows


def _claim(engine: Engine, now: datetime, limit: int) -> list:
    due = and_(
        outbox.c.sent_at.is_(None),
        outbox.c.dropped_at.is_(None),
        outbox.c.to_address.is_not(None),
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


def unsubscribe(conn: Connection, token: str, now: datetime) -> bool:
    """Forget the reader's address everywhere and drop their unsent mail. No sign-in: the
    token in the link is the credential (only its hash is stored)."""
    row = conn.execute(
        select(outbox.c.to_address).where(outbox.c.unsubscribe_hash == _hash(token))
    ).first()
    if row is None:
        return False
    address = row.to_address
    if address:
        conn.execute(
            update(feedback).where(feedback.c.email == address).values(email=None, notify=False)
        )
        conn.execute(
            update(outbox)
            .where(outbox.c.to_address == address, outbox.c.kind.in_(READER_KINDS))
            .where(outbox.c.sent_at.is_(None), outbox.c.dropped_at.is_(None))
            .values(dropped_at=now, last_error="unsubscribed")
        )
        conn.execute(
            update(outbox)
            .where(outbox.c.to_address == address, outbox.c.kind.in_(READER_KINDS))
            .values(to_address=None)
        )
    return True


def purge_addresses(conn: Connection) -> int:
    """Delete readers' addresses of closed tasks once no mail to them is pending."""
    pending = exists().where(
        outbox.c.task_id == tasks.c.id,
        outbox.c.kind.in_(READER_KINDS),
        outbox.c.sent_at.is_(None),
        outbox.c.dropped_at.is_(None),
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
    conn.execute(
        update(outbox)
        .where(outbox.c.task_id.in_(ids), outbox.c.kind.in_(READER_KINDS))
        .values(to_address=None)
    )
    return result.rowcount
