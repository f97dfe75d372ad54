"""The closed loop by mail, against a real SMTP server (aiosmtpd) on 127.0.0.1: the
confirmation of a new address, the acknowledgement, the resolution note, unsubscribe without
sign-in, SMTP down and back, nothing sent twice, addresses deleted once the task is closed
and the reader told."""

from __future__ import annotations

import email
import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from feedback_api.review import notify
from feedback_api.review.core.policy import TriagePolicy
from feedback_api.review.sweep import sweep
from feedback_api.store.models import Feedback, Outbox
from tests import review_fixtures, services
from tests.review_fixtures import send

reviewers = review_fixtures.reviewers
READER = "reader@example.com"
SITE = "http://127.0.0.1:8000/"  # TIDEWAY_PUBLIC_URL's default: links in mail start with it


class Inbox:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = SmtpServer(services.free_port()).start()
    yield server
    server.stop()


def mail_settings(port: int) -> notify.MailSettings:
    return notify.MailSettings(host="127.0.0.1", port=port, sender="Docs <docs@example.com>")


def deliver(app, port: int, now: datetime | None = None) -> dict[str, int]:
    return notify.deliver(app.extensions["store"].engine, mail_settings(port), now)


def outbox_rows(app) -> list[Outbox]:
    with app.extensions["store"].transaction() as session:
        rows = list(session.scalars(select(Outbox).order_by(Outbox.id)))
        session.expunge_all()
    return rows


def unsubscribe_link(message) -> str:
    return "".join(message["List-Unsubscribe"].split()).strip("<>")


def sendable(app) -> list[Outbox]:
    """The outbox without the mail held until its address is confirmed."""
    return [row for row in outbox_rows(app) if not row.held]


def confirm_link(message) -> str:
    text = message.get_payload(decode=True).decode()
    [link] = [word for word in text.split() if "/api/v1/confirm/" in word]
    return link


def confirm_by_mail(app, client, smtp, address: str = READER) -> None:
    """As the reader does it: the confirmation arrives, they follow its link and press the
    button on the page it opens."""
    deliver(app, smtp.port)
    [mail] = [m for m in smtp.inbox.to(address) if m["Subject"].startswith("Confirm")]
    path = "/" + confirm_link(mail).removeprefix(SITE)
    page = client.get(path)
    assert page.status_code == 200 and b'<form method="post"' in page.data
    assert client.post(path).status_code == 200


def test_acknowledgement_and_resolution_reach_the_reader_once(app, client, reviewers, smtp):
    task_id = send(client, page="quickstart/", email=READER, notify=True,
                   comment="Step 3 fails")["task_id"]  # fmt: skip
    send(client, page="quickstart/", reader="10.0.0.2")  # no address: nothing to send
    confirm_by_mail(app, client, smtp)  # a new address: first the confirmation, once
    assert deliver(app, smtp.port) == {"sent": 1, "failed": 0, "dropped": 0}
    assert deliver(app, smtp.port) == {"sent": 0, "failed": 0, "dropped": 0}  # never twice
    [confirmation, ack] = smtp.inbox.to(READER)
    assert confirmation["Subject"] == "Confirm that you want mail about this page"
    assert "We got your feedback" in ack["Subject"]
    assert "A person on the documentation team will look at it" in ack.get_payload()
    assert ack["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_link(ack).startswith(f"{SITE}api/v1/unsubscribe/")

    response = client.post(f"/api/v1/tasks/{task_id}/transitions", headers=reviewers.auth("ana"),
                           json={"action": "resolve", "fixed_in_version": "0.1",
                                 "fix_url": "https://git.example/commit/abc"})  # fmt: skip
    assert response.status_code == 200, response.json
    assert deliver(app, smtp.port)["sent"] == 1
    resolved = smtp.inbox.to(READER)[-1]
    body = resolved.get_payload()
    assert resolved["Subject"] == "The page you told us about is fixed"
    assert f"{SITE}0.1/quickstart/" in body
    assert "https://git.example/commit/abc" in body
    assert len({m["Message-ID"] for m in smtp.inbox.messages}) == len(smtp.inbox.messages)

    # Closed and told: the address is deleted from the feedback and from the outbox.
    client.post(f"/api/v1/tasks/{task_id}/transitions", headers=reviewers.auth("ana"),
                json={"action": "close"})  # fmt: skip
    report = sweep(app.extensions["store"].engine, TriagePolicy(), SITE)
    assert report.addresses_deleted == 1
    with app.extensions["store"].transaction() as session:
        emails = session.scalars(select(Feedback.email).where(Feedback.task_id == task_id)).all()
    assert emails == [None, None]
    assert all(row.to_address is None for row in outbox_rows(app))


def test_smtp_down_then_back_loses_nothing_and_sends_once(app, client, reviewers):
    port = services.free_port()  # nothing listens here yet
    send(client, page="quickstart/", email=READER, notify=True)
    first = deliver(app, port)
    assert first == {"sent": 0, "failed": 1, "dropped": 0}
    [row] = sendable(app)  # the confirmation; the acknowledgement waits for it
    assert row.attempts == 1 and row.sent_at is None and "Error" in row.last_error
    wait = row.next_attempt_at - datetime.now(UTC)
    assert timedelta(seconds=50) < wait <= timedelta(minutes=1)

    server = SmtpServer(port).start()
    try:
        assert deliver(app, port)["sent"] == 0  # not due yet: it backs off
        later = datetime.now(UTC) + timedelta(minutes=2)
        assert deliver(app, port, now=later) == {"sent": 1, "failed": 0, "dropped": 0}
        assert deliver(app, port, now=later + timedelta(hours=1))["sent"] == 0
        assert len(server.inbox.to(READER)) == 1
    finally:
        server.stop()
    [row] = sendable(app)
    assert row.sent_at is not None and row.attempts == 2


def test_retries_double_and_give_up_after_the_last_attempt(app, client, reviewers):
    port = services.free_port()
    send(client, page="quickstart/", email=READER, notify=True)
    now = datetime.now(UTC)
    settings = notify.MailSettings(host="127.0.0.1", port=port, max_attempts=3)
    engine = app.extensions["store"].engine
    waits = []
    for _ in range(3):
        result = notify.deliver(engine, settings, now)
        [row] = sendable(app)
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert result == {"sent": 0, "failed": 0, "dropped": 1}
    assert waits[:2] == [timedelta(minutes=1), timedelta(minutes=2)]
    assert sendable(app)[0].dropped_at is not None


def test_two_senders_at_once_send_each_mail_once(app, client, reviewers, smtp):
    for n in range(6):
        send(client, page="quickstart/", reader=f"10.3.0.{n}", email=f"r{n}@example.com",
             notify=True)  # fmt: skip
    barrier = threading.Barrier(2)
    results = []

    def run():
        barrier.wait()
        results.append(deliver(app, smtp.port))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r["sent"] for r in results) == 6
    assert sorted(m["To"] for m in smtp.inbox.messages) == sorted(
        f"r{n}@example.com" for n in range(6)
    )


def test_unsubscribe_without_signing_in(app, client, reviewers, smtp):
    task_id = send(client, page="quickstart/", email=READER, notify=True)["task_id"]
    deliver(app, smtp.port)
    link = unsubscribe_link(smtp.inbox.to(READER)[0])
    path = "/" + link.removeprefix(SITE)
    page = client.get(path)
    assert page.status_code == 200 and b'<form method="post"' in page.data
    assert client.post(path).status_code == 200
    with app.extensions["store"].transaction() as session:
        stored = session.scalars(select(Feedback).where(Feedback.task_id == task_id)).one()
        assert (stored.email, stored.notify) == (None, False)
    # Resolving now tells no one.
    client.post(f"/api/v1/tasks/{task_id}/transitions", headers=reviewers.auth("ana"),
                json={"action": "resolve", "fixed_in_version": "0.1",
                      "fix_url": "https://git.example/c/9"})  # fmt: skip
    assert deliver(app, smtp.port)["sent"] == 0
    assert client.post("/api/v1/unsubscribe/not-a-token").status_code == 404


def test_an_address_added_by_amending_gets_the_acknowledgement(app, client, reviewers, smtp):
    created = client.post("/api/v1/feedback", json={
        "page": "quickstart/", "version": "0.1", "rating": 0,
        "idempotency_key": "amend-adds-address-01"}).json  # fmt: skip
    assert created["task_id"] is not None
    headers = {"Authorization": f"Bearer {created['amend_token']}"}
    patch = client.patch(f"/api/v1/feedback/{created['id']}", headers=headers,
                         json={"email": READER, "notify": True})  # fmt: skip
    assert patch.status_code == 200, patch.json
    client.patch(f"/api/v1/feedback/{created['id']}", headers=headers, json={"comment": "more"})
    confirm_by_mail(app, client, smtp)
    assert deliver(app, smtp.port)["sent"] == 1  # once, though amended twice
    assert len(smtp.inbox.to(READER)) == 2  # the confirmation, then the acknowledgement
