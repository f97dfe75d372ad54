"""Where the rate-limit counters live, seen through apps in this process: two apps on one
store share the `machine://` counters as two server processes do, and with Redis the sign-in
throttle holds across machines. The same limits under gunicorn are in
tests/test_rate_limits_live.py."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from feedback_api.http.limits import counter_file
from tests.test_dashboard import PASSWORD, add_user, app_with, sign_in
from tests.test_ingest_live import redis_server, redis_url  # noqa: F401 - fixtures


def submit(client, version: str, address: str = "203.0.113.5"):
    body = {"page": "install/", "version": version, "rating": 1,
            "idempotency_key": uuid.uuid4().hex}  # fmt: skip
    return client.post("/api/v1/feedback", json=body, environ_base={"REMOTE_ADDR": address})


def test_two_apps_on_one_store_count_together(published_site, sqlite_url):
    apps = [app_with(published_site, sqlite_url, rate_limit_client="3/minute") for _ in "ab"]
    assert counter_file(apps[0].config["SETTINGS"]).name == "feedback.sqlite3-limits"
    clients = [app.test_client() for app in apps]
    statuses = [submit(c, published_site.current).status_code for c in clients * 2]
    assert statuses == [201, 201, 201, 429]
    for app in apps:
        app.extensions["store"].dispose()


def test_amending_has_a_limit(published_site, sqlite_url):
    app = app_with(published_site, sqlite_url, rate_limit_client="2/minute")
    client = app.test_client()
    stored = submit(client, published_site.current).json
    headers = {"Authorization": f"Bearer {stored['amend_token']}"}
    statuses = [
        client.patch(f"/api/v1/feedback/{stored['id']}", json={"comment": "more"},
                     headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code
        for _ in range(3)
    ]  # fmt: skip
    assert statuses == [200, 200, 429]
    # Counted apart from submissions: the reader may still submit its second rating.
    assert submit(client, published_site.current).status_code == 201
    app.extensions["store"].dispose()


def test_with_redis_the_sign_in_throttle_holds_across_servers(
    published_site,
    sqlite_url,
    redis_url,  # noqa: F811 - the fixture imported above
):
    apps = [
        app_with(published_site, sqlite_url, rate_limit_storage=redis_url,
                 dashboard_signin_limit="3/hour")
        for _ in "ab"
    ]  # fmt: skip
    add_user(apps[0].extensions["store"], "ana")
    # Eight attempts at once, on both servers: each is counted before its password is
    # checked, so no more than the limit get that far, however they interleave.
    attackers = [apps[i % 2].test_client() for i in range(8)]
    for attacker in attackers:
        attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(pool.map(lambda c: sign_in(c, "ana", "wrong").status_code, attackers))
    assert statuses == {401: 3, 429: 5}
    owner = apps[1].test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    # Signing in gives its attempt back: the owner is never throttled for succeeding.
    assert [sign_in(owner, "ana", PASSWORD).status_code for _ in range(5)] == [303] * 5
    for app in apps:
        app.extensions["store"].dispose()


def test_an_ipv6_client_is_its_64_however_many_addresses_it_picks(published_site, sqlite_url):
    """A subscriber's /64 is one client: rotating addresses inside it neither escapes the
    client limit nor counts as more readers (the triage rules' distinct readers)."""
    app = app_with(published_site, sqlite_url, rate_limit_client="3/minute")
    client = app.test_client()
    network = "2001:db8:5:7::"
    statuses = [
        submit(client, published_site.current, f"{network}{n:x}").status_code for n in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    assert submit(client, published_site.current, "2001:db8:5:8::1").status_code == 201
    # A dual-stack socket's IPv4 client is that IPv4 address, and counted as one with it.
    assert submit(client, published_site.current, "::ffff:203.0.113.5").status_code == 201
    assert submit(client, published_site.current, "203.0.113.5").status_code == 201
    assert submit(client, published_site.current, "203.0.113.5").status_code == 201
    assert submit(client, published_site.current, "::ffff:203.0.113.5").status_code == 429
    app.extensions["store"].dispose()
