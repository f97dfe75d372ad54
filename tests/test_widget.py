"""The feedback widget in real Chromium, on the published site served with the real API.

Each test drives a reader's flow (rate, follow up, quote a passage, come back, use only the
keyboard, run under a strict CSP or without JavaScript) and checks what the store holds
afterwards. What happens when delivery fails is in test_widget_delivery.py.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import shutil
import signal
import time

import pytest
from sqlalchemy import create_engine, text

from feedback_api.store import upgrade
from tests import services
from tests.conftest import LiveServer

API = "**/api/v1/feedback**"
COLUMNS = "page, version, rating, reasons, comment, selection, anchor, email, notify, locale"


def rows(server) -> list[dict]:
    """The rows stored by `server` since the test began (`server.since`: the last id before)."""
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            query = text(f"SELECT {COLUMNS} FROM feedback WHERE id > :since ORDER BY id")
            found = [dict(r._mapping) for r in conn.execute(query, {"since": server.since})]
    finally:
        engine.dispose()
    for row in found:
        if isinstance(row["reasons"], str):
            row["reasons"] = json.loads(row["reasons"])
        row["notify"] = bool(row["notify"])  # SQLite answers 0/1
    return found


def wait_rows(server, count: int, timeout: float = 10.0, **expect) -> list[dict]:
    """Poll the store until it holds `count` rows and the last has the `expect`ed values."""
    deadline = time.monotonic() + timeout
    while True:
        found = rows(server)
        if len(found) == count and all(found[-1][k] == v for k, v in expect.items()):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} rows with {expect}, found {found}")
        time.sleep(0.1)


def queue_of(page) -> list:
    return json.loads(page.evaluate("localStorage.getItem('tideway:queue') || '[]'"))


def wait_queue_empty(page, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while queue_of(page):
        assert time.monotonic() < deadline, f"queue not drained: {queue_of(page)}"
        page.wait_for_timeout(100)


def start_server(site_dir, tmp_path, port: int | None = None, **env) -> LiveServer:
    """gunicorn serving `site_dir` and the API on a fresh SQLite store (on `port` if given)."""
    url = f"sqlite:///{tmp_path / 'feedback.sqlite3'}"
    upgrade(url)
    # Every test's reader is 127.0.0.1: the per-client limit would count them all as one.
    env = {"TIDEWAY_RATE_LIMIT_CLIENT": "1000/minute", **env}
    server = LiveServer({"TIDEWAY_DATABASE_URL": url, "TIDEWAY_SITE_DIR": str(site_dir), **env})
    if port:
        server.port, server.url = port, f"http://127.0.0.1:{port}"
        server.env["TIDEWAY_PORT"] = str(port)
    server.database_url, server.since = url, 0
    return server.start()


def stop(server: LiveServer) -> None:
    """Quick shutdown (SIGQUIT): the tests' browsers are closed, nothing is in flight."""
    if server.proc and server.proc.poll() is None:
        server.proc.send_signal(signal.SIGQUIT)
        server.proc.wait(timeout=15)


@pytest.fixture(scope="module")
def site_dir(published_site, tmp_path_factory):
    """The published site, copied: a test may add what issue 7's manifest will hold."""
    dest = tmp_path_factory.mktemp("widget") / "site"
    shutil.copytree(published_site.site_dir, dest, symlinks=True)
    return dest


@pytest.fixture(scope="module")
def shared_server(site_dir, tmp_path_factory):
    server = start_server(site_dir, tmp_path_factory.mktemp("store"))
    yield server
    stop(server)


def view(server: LiveServer) -> LiveServer:
    """`server` as one test sees it: `rows()` shows only the rows stored from now on."""
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            last = conn.execute(text("SELECT max(id) FROM feedback")).scalar() or 0
    finally:
        engine.dispose()
    seen = copy.copy(server)
    seen.since = last
    return seen


@pytest.fixture
def server(shared_server):
    return view(shared_server)


@pytest.fixture
def page(browser, server):
    """A fresh browser profile per test: its own localStorage, no cookies."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def open_page(page, server, path: str):
    page.goto(f"{server.url}/{path}")
    form = page.locator("form.md-feedback")
    form.wait_for(state="visible")
    return form


def test_helpful_reasons_and_comment_amend_the_one_row(page, server, published_site):
    version = published_site.current
    form = open_page(page, server, f"{version}/quickstart/")
    more = page.locator("form.tideway-more")
    assert more.is_hidden()
    form.locator("button[data-md-value='1']").click()
    more.wait_for(state="visible")
    # The helpful set of reasons, focus on its first box; no e-mail offer for praise.
    reasons = more.locator("fieldset.tideway-reasons:visible input")
    assert reasons.evaluate_all("els => els.map(e => e.value)") == [
        "solved_my_problem",
        "easy_to_understand",
        "accurate",
        "good_examples",
        "other",
    ]
    assert page.evaluate("document.activeElement.value") == "solved_my_problem"
    assert more.locator(".tideway-notify").is_hidden()
    wait_rows(server, 1, rating=1)  # recorded at once, before any follow-up

    more.get_by_label("Easy to understand").check()
    more.get_by_label("Good examples").check()
    comment = more.get_by_label("Tell us more (optional)")
    comment.fill("The curl example saved me an hour.")
    assert page.locator("#tideway-count").inner_text() == "34 / 2,000 characters"
    assert comment.get_attribute("maxlength") == "2000"
    more.get_by_role("button", name="Send").click()
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    thanks = page.locator(".tideway-thanks")
    assert thanks.is_visible()
    assert page.evaluate("document.activeElement.matches('.tideway-thanks')")
    assert thanks.locator("ul").is_hidden()  # related pages only after "not helpful"
    [row] = wait_rows(server, 1, comment="The curl example saved me an hour.")
    assert row["page"] == "quickstart/" and row["version"] == version and row["rating"] == 1
    assert row["reasons"] == ["easy_to_understand", "good_examples"]
    assert row["locale"] == "en" and row["email"] is None and not row["notify"]
    assert queue_of(page) == []


def test_not_helpful_with_email_then_thanks_and_related_pages(page, server, published_site):
    version = published_site.current
    manifest_path = server.env["TIDEWAY_SITE_DIR"] + f"/{version}/feedback-manifest.json"
    manifest = json.loads(open(manifest_path).read())
    entry = next(p for p in manifest["pages"] if p["url"] == "quickstart/")
    if "related" not in entry:  # until the plugin writes related pages (issue 7)
        others = [p for p in manifest["pages"] if p["url"] != "quickstart/"]
        entry["related"] = [{"url": p["url"], "title": p["title"]} for p in others]
        with open(manifest_path, "w") as out:
            json.dump(manifest, out)
    expected = entry["related"][:3]

    form = open_page(page, server, f"{version}/quickstart/")
    form.locator("button[data-md-value='0']").click()
    more = page.locator("form.tideway-more")
    more.wait_for(state="visible")
    more.get_by_label("An example does not work").check()
    notify = more.get_by_label("Tell me by e-mail when this is fixed")
    assert not notify.is_checked()
    email = more.get_by_label("E-mail address")
    assert email.is_hidden()  # asked for only with the reader's consent
    notify.check()
    assert page.evaluate("document.activeElement.id") == "tideway-email"
    email.fill("reader@example.com")
    email.press("Enter")  # Enter in the field sends the follow-up, not a rating
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    links = page.locator(".tideway-thanks ul a")
    if expected:
        links.first.wait_for()
    assert [(a.inner_text(), a.get_attribute("href")) for a in links.all()] == [
        (r["title"] or r["url"], f"{server.url}/{version}/{r['url']}") for r in expected
    ]
    [row] = wait_rows(server, 1, notify=True)
    assert row["rating"] == 0 and row["reasons"] == ["broken_example"]
    assert row["email"] == "reader@example.com"


def test_passage_feedback_sends_the_quote_and_the_nearest_heading(page, server, published_site):
    version = published_site.current
    open_page(page, server, f"{version}/quickstart/")
    paragraph = page.locator("article h2 + p").first
    heading = paragraph.evaluate("p => p.previousElementSibling.id")
    quoted = " ".join(paragraph.inner_text().split())
    pin = page.locator(".tideway-pin")
    assert pin.is_hidden()
    paragraph.click(click_count=3)  # a reader's triple-click selects the paragraph
    pin.wait_for(state="visible")
    # Beside the selection: just under it, and after it in the tab order.
    box, para = pin.bounding_box(), paragraph.bounding_box()
    assert para["y"] < box["y"] < para["y"] + para["height"] + 60
    assert paragraph.evaluate("(p, pin) => p.nextElementSibling === pin", pin.element_handle())
    assert rows(server) == []  # selecting is not rating
    page.locator("article h1").click()  # clicking elsewhere hides it again
    pin.wait_for(state="hidden")
    # A selection emptied of its range (a navigation, a script) hides it without an error.
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    paragraph.click(click_count=3)
    pin.wait_for(state="visible")
    page.evaluate("document.getSelection().removeAllRanges()")
    pin.wait_for(state="hidden")
    page.wait_for_timeout(300)  # past the handler's 250 ms pause
    assert errors == []
    paragraph.click(click_count=3)
    pin.wait_for(state="visible")
    pin.click()
    more = page.locator("form.tideway-more")
    more.wait_for(state="visible")
    assert more.locator("blockquote").inner_text() == quoted[:500]
    assert page.evaluate("document.activeElement.id") == "tideway-comment"
    more.locator("#tideway-comment").fill("This step fails on macOS.")
    more.get_by_role("button", name="Send").click()
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    [row] = wait_rows(server, 1)
    assert row["selection"] == quoted[:500] and row["anchor"] == heading
    assert row["rating"] == 0 and row["comment"] == "This step fails on macOS."


def test_the_answer_is_remembered_per_page_and_version_without_cookies(
    page, server, published_site
):
    current, older = published_site.current, published_site.older
    form = open_page(page, server, f"{current}/quickstart/")
    form.locator("button[data-md-value='1']").click()
    wait_rows(server, 1)
    wait_queue_empty(page)
    page.reload()
    rated = page.locator(".tideway-rated")
    rated.wait_for(state="visible")
    assert "You rated this page." in rated.inner_text()
    assert page.locator("form.tideway-more").is_hidden()
    assert form.locator("button[data-md-value='1']").get_attribute("aria-pressed") == "true"
    assert form.locator("button[data-md-value='0']").is_disabled()

    # Another version of the same page asks again.
    open_page(page, server, f"{older}/quickstart/")
    assert page.locator(".tideway-rated").is_hidden()
    assert form.locator("button[data-md-value='0']").is_enabled()

    open_page(page, server, f"{current}/quickstart/")
    page.get_by_role("button", name="Change your answer").click()
    assert page.evaluate("document.activeElement.dataset.mdValue") == "1"
    assert rated.is_hidden()
    form.locator("button[data-md-value='0']").click()
    found = wait_rows(server, 2, rating=0)
    assert [r["rating"] for r in found] == [1, 0]
    assert page.context.cookies() == [] and page.evaluate("document.cookie") == ""


def test_keyboard_only(page, server, published_site):
    version = published_site.current
    page.goto(f"{server.url}/{version}/quickstart/")
    page.locator("form.md-feedback").wait_for(state="visible")
    for _ in range(200):  # Tab through the page to the widget
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.mdValue") == "0":
            break
    else:
        pytest.fail("Tab never reached the not-helpful button")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    page.locator("form.tideway-more").wait_for(state="visible")
    assert page.evaluate("document.activeElement.value") == "inaccurate"
    focused = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focused != "none"
    page.keyboard.press("Space")
    for _ in range(6):  # the other five reasons, to the comment
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "tideway-comment"
    page.keyboard.type("Wrong flag in step 2.")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # tell me when fixed: the e-mail field opens and takes focus
    assert page.evaluate("document.activeElement.id") == "tideway-email"
    page.keyboard.type("reader@example.com")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Send"
    page.keyboard.press("Enter")
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    assert page.evaluate("document.activeElement.matches('.tideway-thanks')")
    [row] = wait_rows(server, 1, comment="Wrong flag in step 2.")
    assert row["reasons"] == ["inaccurate"] and row["notify"] is True

    page.reload()
    page.locator(".tideway-rated").wait_for(state="visible")
    page.get_by_role("button", name="Change your answer").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.mdValue") == "1"


def test_without_javascript_nothing_of_the_widget_shows(browser, server, published_site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.url}/{published_site.current}/quickstart/")
    assert page.locator("article h1").is_visible()
    for selector in ("form.md-feedback", "form.tideway-more", ".tideway-thanks", ".tideway-pin"):
        assert page.locator(selector).is_hidden(), selector
    assert page.locator(".tideway-status").inner_text() == ""
    context.close()


def test_strict_csp_no_third_party_and_no_cookies(browser, server, published_site):
    """Under a policy with no inline script, no eval and nothing from elsewhere, the widget
    works and the page reports no violation; every request stays on the site's origin."""

    def with_csp(route):
        response = route.fetch()
        html = response.text()
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
        hashes = " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in inline
        )
        policy = (
            f"default-src 'self'; script-src 'self' {hashes}; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'"
        )
        headers = {**response.headers, "content-security-policy": policy}
        route.fulfill(response=response, headers=headers)

    context = browser.new_context()
    page = context.new_page()
    page.route(lambda url: url.endswith("/quickstart/"), with_csp)
    refused, requests = [], []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(f"{server.url}/{published_site.current}/quickstart/")
        page.locator("form.md-feedback button[data-md-value='0']").click()
        more = page.locator("form.tideway-more")
        more.wait_for(state="visible")
        page.locator("article h2 + p").first.click(click_count=3)
        page.locator(".tideway-pin").click()
        more.locator("#tideway-comment").fill("Under a strict policy.")
        more.locator("[type=submit]").click()
        page.locator("form.tideway-more").wait_for(state="hidden")  # sent
        wait_rows(server, 1, comment="Under a strict policy.")
        assert refused == []
        assert [u for u in requests if not u.startswith(server.url + "/")] == []
        assert context.cookies() == []
    finally:
        context.close()


def task_of(server, version: str, page: str) -> tuple[dict, list[tuple]]:
    """The open task of a page, and its audit trail (kind, from, to, reason). The writer
    routes a submission just after answering it: the task is waited for, a few seconds."""
    engine = create_engine(server.database_url)
    deadline = time.monotonic() + 10
    try:
        with engine.connect() as conn:
            while True:
                task = conn.execute(
                    text(
                        "SELECT id, category, priority, priority_rule FROM tasks "
                        "WHERE page = :page AND version = :version AND open_key IS NOT NULL"
                    ),
                    {"page": page, "version": version},
                ).one_or_none()
                if task is not None or time.monotonic() > deadline:
                    break
                conn.rollback()  # a fresh snapshot on the next look
                time.sleep(0.05)
            assert task is not None, f"no open task for {version}/{page}"
            events = conn.execute(
                text(
                    "SELECT kind, from_value, to_value, reason FROM task_events "
                    "WHERE task_id = :id ORDER BY id"
                ),
                {"id": task.id},
            ).all()
    finally:
        engine.dispose()
    return dict(task._mapping), [tuple(e) for e in events]


def test_the_widget_s_complete_submission_is_triaged(page, server, published_site):
    # The widget stores the rating at once and sends the reasons and comment a moment later:
    # the rules must see the complete submission, as they would one POST with everything.
    version = published_site.current
    form = open_page(page, server, f"{version}/install/")
    form.locator("button[data-md-value='0']").click()
    more = page.locator("form.tideway-more")
    more.wait_for(state="visible")
    wait_rows(server, 1, rating=0)
    opened, _ = task_of(server, version, "install/")
    assert opened["priority"] == "normal", opened  # a bare "not helpful": the default

    more.get_by_label("Information is missing").check()
    more.get_by_label("Tell us more (optional)").fill("Step 3 leaks the token into the log.")
    more.get_by_role("button", name="Send").click()
    page.locator("form.tideway-more").wait_for(state="hidden")  # sent
    wait_rows(server, 1, comment="Step 3 leaks the token into the log.")

    task, events = task_of(server, version, "install/")
    assert task["category"] == "request"  # from the reason, as the docs' table says
    assert task["priority"] == "urgent" and "signal word “leak”" in task["priority_rule"]
    assert ("category", "problem", "request") in [e[:3] for e in events]
    raised = [e for e in events if e[0] == "priority" and e[1] == "normal"]
    assert raised and raised[-1][2] == "urgent" and "leak" in raised[-1][3], events


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
THANKS = "Thank you! Your feedback was sent to the people who write this page."


def thank_yous(page) -> list[str]:
    """The thank-you messages a reader sees in the widget now (wherever its panel is)."""
    return [
        line.strip()
        for part in page.locator(".tideway-feedback, article > .tideway-panel").all()
        for line in part.inner_text().splitlines()
        if "thank" in line.lower()
    ]


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_reader_is_thanked_once_in_the_sites_language(
    browser, server, published_site, output_dir, device
):
    """Not Material's note after the rating and then a second message after the follow-up:
    one thank-you, from the rating on, the same once the follow-up is sent."""
    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP))
    page = context.new_page()
    try:
        form = open_page(page, server, f"{published_site.current}/quickstart/")
        form.locator("button[data-md-value='0']").click()
        page.locator("form.tideway-more").wait_for(state="visible")
        assert thank_yous(page) == [THANKS]
        page.locator(".tideway-feedback").screenshot(path=str(output_dir / f"{device}-rated.png"))
        page.locator("#tideway-comment").fill("Once is enough.")
        page.locator("form.tideway-more [type=submit]").click()
        page.locator("form.tideway-more").wait_for(state="hidden")
        wait_rows(server, 1, comment="Once is enough.")
        assert thank_yous(page) == [THANKS]
        assert page.evaluate("document.activeElement.matches('.tideway-thanks')")
        page.locator(".tideway-feedback").screenshot(path=str(output_dir / f"{device}-sent.png"))
    finally:
        context.close()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_passage_feedback_keeps_the_reader_where_they_are(
    browser, server, published_site, output_dir, device
):
    """The follow-up opens beside the quoted passage, not at the foot of a long page; Escape
    puts it away and gives focus back to the passage control."""
    context = browser.new_context(**(PHONE if device == "phone" else DESKTOP))
    page = context.new_page()
    try:
        open_page(page, server, f"{published_site.current}/concepts/review-tasks/")
        paragraph = page.locator("article h2#priority + p")
        paragraph.scroll_into_view_if_needed()
        paragraph.click(click_count=3)
        pin = page.locator(".tideway-pin")
        pin.wait_for(state="visible")
        before = page.evaluate("scrollY")
        height = page.viewport_size["height"]
        pin.click()
        more = page.locator("form.tideway-more")
        more.wait_for(state="visible")
        assert page.evaluate("document.activeElement.id") == "tideway-comment"
        page.screenshot(path=str(output_dir / f"{device}-passage-follow-up.png"))
        # Still reading the same passage: the page moved at most a little, the passage and the
        # comment box are on screen, the form right after the passage.
        assert abs(page.evaluate("scrollY") - before) < height / 3
        box, comment = paragraph.bounding_box(), page.locator("#tideway-comment").bounding_box()
        assert box["y"] + box["height"] > 0 and box["y"] < height
        assert 0 <= comment["y"] and comment["y"] + comment["height"] <= height
        assert paragraph.evaluate("p => p.parentNode.querySelector('.tideway-panel') != null")

        page.keyboard.press("Escape")  # not now: back where they were
        more.wait_for(state="hidden")
        assert page.evaluate("document.activeElement.matches('.tideway-pin')")
        assert page.locator(".tideway-feedback .tideway-panel").count() == 1

        pin.click()
        more.locator("#tideway-comment").fill("Which rule wins?")
        more.get_by_role("button", name="Send").click()
        more.wait_for(state="hidden")  # sent
        thanks = page.locator(".tideway-thanks")
        thanks_box = thanks.bounding_box()
        assert 0 <= thanks_box["y"] < height  # the thank-you too, where the reader is
        page.screenshot(path=str(output_dir / f"{device}-passage-thanks.png"))
        [row] = wait_rows(server, 1, comment="Which rule wins?")
        assert row["anchor"] == "priority" and row["selection"].startswith("The priority is")
    finally:
        context.close()


def test_a_keyboard_user_reaches_the_passage_control(browser, server, published_site, output_dir):
    """Text selected with shift+arrows (caret browsing, as keyboard users select), then Tab:
    the passage control, by its name; Enter opens the follow-up with the quote."""
    caret_browser = browser.browser_type.launch(
        executable_path=services.CHROMIUM,
        headless=True,
        args=[*services.CHROMIUM_ARGS, "--enable-caret-browsing"],
    )
    try:
        page = caret_browser.new_page(viewport=DESKTOP["viewport"])
        open_page(page, server, f"{published_site.current}/concepts/review-tasks/")
        paragraph = page.locator("article h2#priority + p")
        paragraph.scroll_into_view_if_needed()
        # The caret at the paragraph's start, as the arrow keys would have brought it.
        paragraph.evaluate("p => getSelection().collapse(p.firstChild, 0)")
        for _ in range(12):
            page.keyboard.press("Shift+ArrowRight")
        assert page.evaluate("getSelection().toString()") == "The priority"
        page.locator(".tideway-pin").wait_for(state="visible")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.matches('.tideway-pin')")
        control = page.get_by_role("button", name="Feedback on this passage")
        assert control.evaluate("el => el === document.activeElement")
        page.screenshot(path=str(output_dir / "keyboard-passage-control.png"))
        page.keyboard.press("Enter")
        page.locator("form.tideway-more").wait_for(state="visible")
        assert page.evaluate("document.activeElement.id") == "tideway-comment"
        page.keyboard.type("Name the five lines in a table.")
        for _ in range(2):  # past "tell me by e-mail", to Send
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Send"
        page.keyboard.press("Enter")
        page.locator("form.tideway-more").wait_for(state="hidden")  # sent
        [row] = wait_rows(server, 1, comment="Name the five lines in a table.")
        assert row["selection"] == "The priority" and row["anchor"] == "priority"
    finally:
        caret_browser.close()
