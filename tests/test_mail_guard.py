"""Mail to anyone (issue 16, finding 7), on both stores and through a real SMTP server: a new
address gets one confirmation and nothing else until the reader confirms it; unsubscribing
suppresses the address for good, whatever its case and after it is deleted; and no address
gets more than `mail_daily_cap` reader mails in a day."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from feedback_api.review import notify
from feedback_api.review.core.policy import TriagePolicy
from feedback_api.review.sweep import sweep
from feedback_api.store.models import MailAddress, Outbox
from tests import review_fixtures, services
from tests.review_fixtures import send
from tests.test_mail_loop import (
    SITE,
    SmtpServer,
    confirm_by_mail,
    confirm_link,
    deliver,
    outbox_rows,
    unsubscribe_link,
)

reviewers = review_fixtures.reviewers


@pytest.fixture
def smtp():
    server = SmtpServer(services.free_port()).start()
    yield server
    server.stop()


CASEY = "Casey@example.com"  # the ingest lower-cases the domain, not the name


def submit(client, n: int, address: str = CASEY, **fields) -> dict:
    return send(client, page="quickstart/", reader=f"10.7.0.{n}", email=address, notify=True,
                comment=f"Step {n} fails", **fields)  # fmt: skip


def resolve(client, reviewers, task_id: int) -> None:
    response = client.post(f"/api/v1/tasks/{task_id}/transitions", headers=reviewers.auth("ana"),
                           json={"action": "resolve", "fixed_in_version": "0.1",
                                 "fix_url": "https://git.example/c/1"})  # fmt: skip
    assert response.status_code == 200, response.json


def test_a_stranger_submitting_six_times_makes_one_mail(app, client, smtp):
    for n in range(6):
        submit(client, n)
    assert deliver(app, smtp.port)["sent"] == 1
    [mail] = smtp.inbox.messages
    assert mail["To"] == CASEY
    assert mail["Subject"] == "Confirm that you want mail about this page"
    text = mail.get_payload(decode=True).decode()
    assert "If it was not you, do nothing" in text
    assert confirm_link(mail).startswith(f"{SITE}api/v1/confirm/")
    assert mail["List-Unsubscribe"]  # "it was not me, never again" is one click
    # The acknowledgements wait for the reader; nothing more leaves meanwhile.
    assert deliver(app, smtp.port)["sent"] == 0
    held = [row for row in outbox_rows(app) if row.kind == "ack"]
    assert len(held) == 6 and all(row.held and row.sent_at is None for row in held)
    # If the reader confirms, the cap still holds: 5 mails in the day, the rest dropped.
    path = "/" + confirm_link(mail).removeprefix(SITE)
    assert client.post(path).status_code == 200
    assert deliver(app, smtp.port)["sent"] == 4
    errors = [row.last_error for row in outbox_rows(app) if row.kind == "ack"]
    assert errors == [None] * 4 + ["cap"] * 2


def test_confirming_sends_the_waiting_acknowledgement(app, client, smtp):
    submit(client, 1)
    assert deliver(app, smtp.port)["sent"] == 1
    [mail] = smtp.inbox.messages
    path = "/" + confirm_link(mail).removeprefix(SITE)
    page = client.get(path)  # a link scanner's GET confirms nothing
    assert b"Confirm that you want mail about this page" in page.data
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert deliver(app, smtp.port)["sent"] == 0
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # twice is harmless
    assert deliver(app, smtp.port)["sent"] == 1
    assert "We got your feedback" in smtp.inbox.messages[-1]["Subject"]
    # Confirmed, in any case: the next acknowledgement needs no confirmation.
    submit(client, 2, address=CASEY.upper())
    assert deliver(app, smtp.port)["sent"] == 1
    assert "We got your feedback" in smtp.inbox.messages[-1]["Subject"]
    assert client.post("/api/v1/confirm/not-a-token").status_code == 404


def test_a_confirmation_link_expires_after_a_week_and_a_new_one_is_sent(app, client, smtp):
    submit(client, 1)
    assert deliver(app, smtp.port)["sent"] == 1
    [old] = smtp.inbox.messages
    # Eight days on (the clock moves; here the row does): the old link confirms nothing.
    with app.extensions["store"].transaction() as session:
        entry = session.scalars(select(MailAddress)).one()
        entry.confirm_sent_at -= timedelta(days=8)
    path = "/" + confirm_link(old).removeprefix(SITE)
    refused = client.post(path)
    assert refused.status_code == 410 and b"more than a week old" in refused.data
    assert deliver(app, smtp.port)["sent"] == 0  # the acknowledgement still waits
    # The reader gives the address again: a new confirmation, and this one works.
    submit(client, 2)
    assert deliver(app, smtp.port)["sent"] == 1
    fresh = smtp.inbox.messages[-1]
    assert fresh["Subject"] == old["Subject"] and confirm_link(fresh) != confirm_link(old)
    assert client.post("/" + confirm_link(fresh).removeprefix(SITE)).status_code == 200
    assert deliver(app, smtp.port)["sent"] == 2  # both acknowledgements


def test_the_outbox_command_counts_the_mail_held_for_a_confirmation(app, client):
    submit(client, 1)
    submit(client, 2)
    shown = review_fixtures.cli(app, "mail", "outbox")
    assert "2 mail(s) to readers wait for their address to be confirmed" in shown
    assert "Confirm that you want mail about this page" in shown
    assert "1 mail(s) waiting in the outbox" in shown


def test_the_fixed_note_waits_for_confirmation_and_is_dropped_with_the_address(
    app, client, reviewers, smtp
):
    task_id = submit(client, 1)["task_id"]
    deliver(app, smtp.port)  # the confirmation, which the reader ignores
    resolve(client, reviewers, task_id)
    assert deliver(app, smtp.port)["sent"] == 0  # not confirmed: the note waits
    client.post(f"/api/v1/tasks/{task_id}/transitions", headers=reviewers.auth("ana"),
                json={"action": "close"})  # fmt: skip
    report = sweep(app.extensions["store"].engine, TriagePolicy(), SITE)
    assert report.addresses_deleted == 1  # held mail does not keep the address for ever
    waiting = [row for row in outbox_rows(app) if row.kind in ("ack", "resolved")]
    assert all(row.last_error == "unconfirmed" and row.to_address is None for row in waiting)
    assert len(smtp.inbox.messages) == 1


def test_unsubscribing_suppresses_the_address_for_good_in_any_case(app, client, reviewers, smtp):
    first = submit(client, 1)["task_id"]
    confirm_by_mail(app, client, smtp, CASEY)
    deliver(app, smtp.port)
    ack = smtp.inbox.messages[-1]
    path = "/" + unsubscribe_link(ack).removeprefix(SITE)
    assert client.post(path).status_code == 200
    before = len(smtp.inbox.messages)

    # The address is deleted from the feedback, and is not in the list either: only its hash.
    with app.extensions["store"].transaction() as session:
        [entry] = session.scalars(select(MailAddress)).all()
        assert entry.suppressed_at is not None
        assert "casey" not in " ".join(str(v) for v in vars(entry).values()).lower()

    # The same reader, another case, another page, another task: nothing is queued.
    second = send(client, page="", reader="10.7.1.1", email="casey@example.COM",
                  notify=True, comment="Typo")["task_id"]  # fmt: skip
    submit(client, 2, address="CASEY@EXAMPLE.COM")
    for task_id in {first, second}:
        resolve(client, reviewers, task_id)
    assert deliver(app, smtp.port)["sent"] == 0
    assert len(smtp.inbox.messages) == before
    with app.extensions["store"].transaction() as session:
        queued = session.scalars(
            select(Outbox).where(Outbox.dropped_at.is_(None), Outbox.sent_at.is_(None))
        ).all()
    assert [row for row in queued if row.kind in notify.READER_KINDS] == []
    # Its confirmation link no longer turns mail back on.
    [confirmation] = [m for m in smtp.inbox.messages if m["Subject"].startswith("Confirm")]
    assert client.post("/" + confirm_link(confirmation).removeprefix(SITE)).status_code == 404


def test_no_more_than_the_daily_cap_to_one_address(app, client, smtp):
    cap = app.config["SETTINGS"].mail_daily_cap
    assert cap == 5
    submit(client, 0)
    confirm_by_mail(app, client, smtp, CASEY)  # the confirmation and the first ack: 2 mails
    for n in range(1, 6):
        submit(client, n)
    assert deliver(app, smtp.port)["sent"] == 4  # the ack held, then 3 more: 5 in the day
    rows = [row for row in outbox_rows(app) if row.to_address == CASEY]
    capped = [row for row in rows if row.last_error == "cap"]
    assert len(capped) == 2 and all(row.dropped_at and not row.sent_at for row in capped)
    assert len(smtp.inbox.to(CASEY)) == cap
    # Another address is not held back by Casey's cap.
    submit(client, 9, address="dana@example.com")
    assert deliver(app, smtp.port)["sent"] == 1

    # A day later the address may be written to again.
    intake = app.extensions["review"].intake
    later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    intake.clock = lambda: later
    submit(client, 7)
    assert deliver(app, smtp.port, now=later)["sent"] == 1


def test_the_address_key_is_case_insensitive_and_keyed():
    assert notify.address_key(b"k1", "Casey@Example.com") == notify.address_key(
        b"k1", " casey@example.COM"
    )
    assert notify.address_key(b"k1", "casey@example.com") != notify.address_key(
        b"k2", "casey@example.com"
    )
    plain = __import__("hashlib").sha256(b"casey@example.com").hexdigest()
    assert notify.address_key(b"k1", "casey@example.com") != plain


def test_the_confirm_page_posts_to_a_server_built_url_under_a_strict_csp(client):
    page = client.get("/api/v1/confirm/javascript:alert(document.domain)")
    assert page.status_code == 200
    action = re.search(r'<form method="post" action="([^"]*)"', page.text).group(1)
    assert action == "/api/v1/confirm/javascript:alert(document.domain)"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the token is the URL
    assert not re.search(r"<script|\sstyle=|\son[a-z]+=", page.text)
    assert client.post("/api/v1/confirm/javascript:alert(1)").status_code == 404
