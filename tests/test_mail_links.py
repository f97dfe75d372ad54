"""The reader's mail from a server on a port other than 8000, through a real SMTP server
(aiosmtpd) on 127.0.0.1: every link in it starts with the served address, and answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from email.utils import parsedate_to_datetime

import pytest

from tests import services
from tests.conftest import ROOT, LiveServer
from tests.test_mail_loop import SmtpServer, unsubscribe_link

READER = "reader@example.com"


@pytest.fixture
def smtp():
    server = SmtpServer(services.free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def mailing_server(published_site, sqlite_url, smtp):
    """As `make serve PORT=...` runs it: TIDEWAY_PORT set, TIDEWAY_PUBLIC_URL not."""
    server = LiveServer(
        {
            "TIDEWAY_DATABASE_URL": sqlite_url,
            "TIDEWAY_SITE_DIR": str(published_site.site_dir),
            "TIDEWAY_SMTP_HOST": "127.0.0.1",
            "TIDEWAY_SMTP_PORT": str(smtp.port),
        }
    )
    server.env.pop("TIDEWAY_PUBLIC_URL", None)
    assert server.port != 8000
    server.start()
    yield server
    server.stop()


def send_mail_round(server: LiveServer) -> None:
    """One round of the loop `make serve` runs beside gunicorn: sweep, then send."""
    done = subprocess.run(
        [sys.executable, "-m", "feedback_api.run.sweep_loop", "--once"],
        env=server.env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def links(text: str) -> list[str]:
    return [word.rstrip(".,") for word in text.split() if word.startswith("http")]


def test_the_readers_mail_links_to_the_served_address(mailing_server, published_site, smtp):
    base = f"{mailing_server.url}/"
    request = urllib.request.Request(
        f"{base}api/v1/feedback",
        data=json.dumps({"page": "quickstart/", "version": published_site.current, "rating": 0,
                         "comment": "Step 3 fails", "email": READER, "notify": True,
                         "idempotency_key": uuid.uuid4().hex}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    before = time.time()
    send_mail_round(mailing_server)

    # A new address: first the confirmation, whose links answer too; the reader confirms.
    [confirmation] = smtp.inbox.to(READER)
    found = links(confirmation.get_payload(decode=True).decode())
    [confirm] = [link for link in found if "/api/v1/confirm/" in link]
    for link in found:
        assert link.startswith(base), f"{link} is not on the served address {base}"
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200, link
    confirmed = urllib.request.Request(confirm, data=b"", method="POST")
    with urllib.request.urlopen(confirmed, timeout=10) as response:
        assert response.status == 200
    send_mail_round(mailing_server)

    [_, ack] = smtp.inbox.to(READER)
    assert ack["Message-ID"].startswith("<tideway-outbox-")
    assert ack["Date"], "the mail has no Date: header"
    assert abs(parsedate_to_datetime(ack["Date"]).timestamp() - before) < 60
    found = links(ack.get_payload(decode=True).decode()) + [unsubscribe_link(ack)]
    assert len(found) == 3  # the page, the way out in the text, the List-Unsubscribe header
    for link in found:
        assert link.startswith(base), f"{link} is not on the served address {base}"
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200, link
    assert f"{base}{published_site.current}/quickstart/" in found
