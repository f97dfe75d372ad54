"""Rate limits under the real server: gunicorn with two workers, each limit holding exactly
across them with the default `machine://` counters (no Redis), and a sign-in throttle that
slows one client down without locking anyone else out."""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from feedback_api.store import Store
from tests.conftest import LiveServer
from tests.test_dashboard import PASSWORD, add_user, csrf_of

# One gunicorn for the module (starting one costs seconds); each test uses its own clients
# (X-Forwarded-For through TIDEWAY_PROXY_COUNT=1) and pages, so their counts do not meet.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_sqlite, published_site):
    db = tmp_path_factory.mktemp("limits") / "feedback.sqlite3"
    shutil.copyfile(migrated_sqlite, db)
    url = f"sqlite:///{db}"
    store = Store(url)
    add_user(store, "ana")
    store.dispose()
    live = LiveServer(
        {
            "TIDEWAY_DATABASE_URL": url,
            "TIDEWAY_SITE_DIR": str(published_site.site_dir),
            "TIDEWAY_PROXY_COUNT": "1",
            "TIDEWAY_RATE_LIMIT_CLIENT": "30/minute",
            "TIDEWAY_RATE_LIMIT_PAGE": "50/minute",
            "TIDEWAY_DASHBOARD_SIGNIN_LIMIT": "5/minute",
        },
        workers=2,
    ).start()
    live.version = published_site.current
    yield live
    live.stop()


def submit(server, client: str, page: str) -> requests.Response:
    body = {"page": page, "version": server.version, "rating": 1,
            "idempotency_key": uuid.uuid4().hex}  # fmt: skip
    return requests.post(
        f"{server.url}/api/v1/feedback", data=json.dumps(body), timeout=10,
        headers={"Content-Type": "application/json", "X-Forwarded-For": client},
    )  # fmt: skip


def in_parallel(calls, workers: int = 8) -> Counter:
    """Status counts of `calls` (each returning a response or a status), eight at a time,
    each on its own connection so that both workers take a share."""
    with ThreadPoolExecutor(workers) as pool:
        return Counter(getattr(r, "status_code", r) for r in pool.map(lambda f: f(), calls))


def test_one_client_gets_exactly_its_limit_across_workers(server):
    statuses = in_parallel([lambda: submit(server, "203.0.113.10", "install/")] * 100)
    assert statuses == {201: 30, 429: 70}


def test_a_page_gets_exactly_its_limit_across_workers(server):
    clients = [f"198.51.100.{n}" for n in range(1, 101)]
    statuses = in_parallel([lambda c=c: submit(server, c, "quickstart/") for c in clients])
    assert statuses == {201: 50, 429: 50}


def test_amending_is_limited_per_client_across_workers(server):
    stored = submit(server, "203.0.113.20", "faq/").json()

    def amend():
        return requests.patch(
            f"{server.url}/api/v1/feedback/{stored['id']}", data=json.dumps({"comment": "x"}),
            headers={"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.20",
                     "Authorization": f"Bearer {stored['amend_token']}"}, timeout=10,
        )  # fmt: skip

    statuses = in_parallel([amend] * 100)
    assert statuses[429] == 70 and sum(statuses.values()) - statuses[429] == 30
    refused = amend()
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 61


def sign_in(server, client: str, password: str) -> int:
    """A browser's sign-in from `client`: the form (and its CSRF cookie), then the POST."""
    with requests.Session() as session:  # closed: no idle connection delays the shutdown
        session.headers["X-Forwarded-For"] = client
        form = session.get(f"{server.url}/dashboard/", timeout=10)
        response = session.post(
            f"{server.url}/dashboard/sign-in", timeout=10, allow_redirects=False,
            data={"name": "ana", "password": password, "csrf_token": csrf_of(form.text)},
        )  # fmt: skip
        return response.status_code


def test_sign_in_failures_are_throttled_across_workers_even_in_parallel(server):
    statuses = in_parallel([lambda: sign_in(server, "192.0.2.10", "wrong")] * 20)
    assert statuses == {401: 5, 429: 15}
    # The client waits, even with the right password, until its window ends.
    assert sign_in(server, "192.0.2.10", PASSWORD) == 429


def test_failing_from_many_addresses_locks_the_owner_out_of_nothing(server):
    attackers = [f"192.0.2.{n}" for n in range(100, 110)]
    statuses = in_parallel([lambda a=a: sign_in(server, a, "wrong") for a in attackers * 6])
    assert statuses == {401: 50, 429: 10}  # five failures each, then refused
    assert sign_in(server, "192.0.2.200", PASSWORD) == 303
    # And signing in is no failure: the owner's client keeps its whole allowance.
    assert [sign_in(server, "192.0.2.200", PASSWORD) for _ in range(6)] == [303] * 6
