"""Never loses a click: the widget's queue in real Chromium against the real API. The
network fails, answers are lost, the API is busy or refuses, storage is refused, time runs
out; each test checks what the store holds afterwards: the reader's words, in one row."""

from __future__ import annotations

import json
import time

import pytest

from tests import test_widget as widget
from tests.test_widget import API, open_page, queue_of, rows, wait_queue_empty, wait_rows

# test_widget.py's fixtures (this module gets its own module-scoped server from them).
site_dir, shared_server = widget.site_dir, widget.shared_server
server, page = widget.server, widget.page


def test_a_follow_up_after_the_amend_window_is_a_submission_of_its_own(
    page, server, published_site
):
    """The API takes additions for 30 minutes; later, the reader's words are not thrown away
    but stored as a new submission (and the first one is left as it was)."""
    page.clock.install()
    form = open_page(page, server, f"{published_site.current}/quickstart/")
    form.locator("button[data-md-value='0']").click()
    wait_queue_empty(page)
    page.clock.fast_forward("30:00")
    more = page.locator("form.tideway-more")
    more.get_by_label("Out of date").check()
    more.locator("#tideway-comment").fill("Written after a long lunch.")
    more.get_by_role("button", name="Send").click()
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    first, second = wait_rows(server, 2, comment="Written after a long lunch.")
    assert first["comment"] is None and first["reasons"] == []
    assert second["rating"] == 0 and second["reasons"] == ["outdated"]


def test_the_amend_window_follows_the_servers_amend_until(page, server, published_site):
    """The widget takes its window from the answer (amend_until - created_at, counted from
    when the answer came), not from the browser's clock: 25 minutes on it still amend."""
    page.clock.install()
    form = open_page(page, server, f"{published_site.current}/quickstart/")
    form.locator("button[data-md-value='1']").click()
    wait_queue_empty(page)
    page.clock.fast_forward("25:00")
    more = page.locator("form.tideway-more")
    more.locator("#tideway-comment").fill("Still within the window.")
    more.get_by_role("button", name="Send").click()
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    [row] = wait_rows(server, 1, comment="Still within the window.")


def test_an_answer_without_amend_until_is_not_amended(page, server, published_site):
    """An older API does not say when its amend window closes: the follow-up is then a
    submission of its own, and the first one is left as it was."""

    def without_amend_until(route):
        if route.request.method != "POST":
            return route.continue_()
        response = route.fetch()
        answer = response.json()
        assert "amend_until" in answer  # the real server sends it; an older one did not
        del answer["amend_until"]
        route.fulfill(response=response, body=json.dumps(answer))

    page.route(API, without_amend_until)
    form = open_page(page, server, f"{published_site.current}/quickstart/")
    form.locator("button[data-md-value='1']").click()
    wait_queue_empty(page)
    more = page.locator("form.tideway-more")
    more.locator("#tideway-comment").fill("Said at once, but to an older server.")
    more.get_by_role("button", name="Send").click()
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    first, second = wait_rows(server, 2, comment="Said at once, but to an older server.")
    assert first["comment"] is None and second["rating"] == 1


def test_offline_click_waits_in_the_queue_and_lands_exactly_once(page, server, published_site):
    version = published_site.current
    page.route(API, lambda route: route.abort("internetdisconnected"))
    form = open_page(page, server, f"{version}/quickstart/")
    form.locator("button[data-md-value='0']").click()
    status = page.locator(".tideway-status")
    status.filter(has_text="could not be sent yet").wait_for()
    assert len(queue_of(page)) == 1
    page.reload()  # the next page load tries again, and fails again
    page.locator(".tideway-rated").wait_for(state="visible")
    page.wait_for_timeout(300)
    assert rows(server) == []
    page.unroute(API)  # the network is back: the backoff delivers it
    wait_rows(server, 1, rating=0, page="quickstart/")
    wait_queue_empty(page)
    page.wait_for_timeout(1500)
    assert len(rows(server)) == 1


def test_the_queue_is_bounded_and_the_oldest_give_way(page, server, published_site):
    page.route(API, lambda route: route.abort("internetdisconnected"))
    open_page(page, server, f"{published_site.current}/quickstart/")
    waiting = [
        {"k": f"earlier-answer-{i:04d}", "sk": "x", "api": "/api/v1", "body": {"rating": 1}}
        for i in range(20)
    ]
    page.evaluate("q => localStorage.setItem('tideway:queue', JSON.stringify(q))", waiting)
    page.locator("form.md-feedback button[data-md-value='0']").click()
    page.locator(".tideway-status").filter(has_text="could not be sent yet").wait_for()
    # Twenty wait: the reader's answer, and the nineteen newest of those before it.
    queue = queue_of(page)
    assert len(queue) == 20
    mine = [i for i in queue if i["body"].get("page") == "quickstart/"]
    assert len(mine) == 1 and mine[0]["body"]["rating"] == 0
    assert {i["k"] for i in queue} - {mine[0]["k"]} == {i["k"] for i in waiting[1:]}


def test_a_lost_answer_is_replayed_with_its_key_and_stores_one_row(page, server, published_site):
    """The POST reaches the server, the answer never reaches the reader: the retry is a
    replay of the same idempotency key, so the store still holds one row."""
    version = published_site.current
    posts = []

    def lose_first_answer(route):
        posts.append(route.request.post_data_json)
        if len(posts) == 1:
            route.fetch()  # stored on the server...
            route.abort("connectionreset")  # ...but the reader never hears so
        else:
            route.continue_()

    page.route(API, lose_first_answer)
    form = open_page(page, server, f"{version}/quickstart/")
    form.locator("button[data-md-value='1']").click()
    wait_queue_empty(page)
    assert len(posts) == 2 and posts[0] == posts[1]
    assert len(rows(server)) == 1


@pytest.mark.parametrize("status", [503, 429])
def test_a_busy_api_is_retried_when_it_says(page, server, published_site, status):
    """`503`/`429` with Retry-After: the same request again, after the time asked for."""
    version = published_site.current
    seen = []

    def busy_once(route):
        seen.append((time.monotonic(), route.request.post_data))
        if len(seen) == 1:
            body = {"error": {"code": "busy", "message": "Try again shortly."}}
            headers = {"Retry-After": "2", "Content-Type": "application/json"}
            route.fulfill(status=status, headers=headers, body=json.dumps(body))
        else:
            route.continue_()

    page.route(API, busy_once)
    form = open_page(page, server, f"{version}/quickstart/")
    form.locator("button[data-md-value='1']").click()
    page.locator(".tideway-status").filter(has_text="could not be sent yet").wait_for()
    wait_queue_empty(page)  # (keeps Playwright's event loop, and so the route, running)
    wait_rows(server, 1, rating=1)
    [(first, body), (again, same)] = seen
    assert body == same and again - first >= 1.9


def test_the_readers_text_survives_a_failed_send(page, server, published_site):
    version = published_site.current
    form = open_page(page, server, f"{version}/quickstart/")
    form.locator("button[data-md-value='0']").click()
    wait_rows(server, 1)
    wait_queue_empty(page)

    page.context.set_offline(True)
    more = page.locator("form.tideway-more")
    more.locator("#tideway-comment").fill("Step 3 is missing the port.")
    more.get_by_role("button", name="Send").click()
    page.locator(".tideway-status").filter(has_text="could not be sent yet").wait_for()
    assert more.locator("#tideway-comment").input_value() == "Step 3 is missing the port."
    assert more.get_by_role("button", name="Send").is_enabled()
    assert rows(server)[0]["comment"] is None
    page.context.set_offline(False)  # fires `online`: sent at once, amending the same row
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    [row] = wait_rows(server, 1, comment="Step 3 is missing the port.")


def test_a_refused_answer_is_shown_in_the_readers_language_and_not_retried(
    page, server, published_site
):
    version = published_site.current
    sent = []
    page.on("request", lambda r: sent.append(r.method) if "/api/v1/feedback" in r.url else None)
    form = open_page(page, server, f"{version}/quickstart/")
    form.locator("button[data-md-value='0']").click()
    wait_rows(server, 1)
    wait_queue_empty(page)
    more = page.locator("form.tideway-more")
    more.locator("#tideway-comment").fill("Please fix the example.")
    more.get_by_label("Tell me by e-mail when this is fixed").check()
    # The browser's syntax check lets this through; the API's deliverability check does not.
    more.get_by_label("E-mail address").fill("reader@localhost")
    more.get_by_role("button", name="Send").click()
    status = page.locator(".tideway-status")
    status.filter(has_text="valid e-mail").wait_for()
    page.wait_for_timeout(1500)  # longer than the first backoff: nothing is retried
    assert sent == ["POST", "PATCH"]
    assert queue_of(page) == []
    assert more.locator("#tideway-comment").input_value() == "Please fix the example."
    assert rows(server)[0]["comment"] is None


def test_where_storage_is_refused_the_answer_is_still_sent(browser, server, published_site):
    context = browser.new_context()
    # As in a browser whose storage is full or switched off for the site.
    context.add_init_script(
        "Storage.prototype.setItem = () => { throw new DOMException('full', 'QuotaExceededError') }"
    )
    page = context.new_page()
    try:
        form = open_page(page, server, f"{published_site.current}/quickstart/")
        form.locator("button[data-md-value='1']").click()
        wait_rows(server, 1, rating=1)
        more = page.locator("form.tideway-more")
        more.locator("#tideway-comment").fill("Clear enough.")
        more.get_by_role("button", name="Send").click()
        page.locator("form.tideway-more").wait_for(state="hidden")  # sent
        wait_rows(server, 1, comment="Clear enough.")
    finally:
        context.close()
