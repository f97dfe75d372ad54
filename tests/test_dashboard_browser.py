"""The dashboard in real Chromium against a real gunicorn server: sign-in, the queue and its
filters, keyboard use, accessibility (axe-core) and screenshots in light and dark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedback_api.store import Store
from feedback_api.store.models import Task
from tests import services
from tests.conftest import ROOT, TEST_SECRET
from tests.test_dashboard import PASSWORD

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
SCHEMES = ("light", "dark")
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def store(live_server):
    store = Store(live_server.database_url)
    yield store
    store.dispose()


def flask_cli(server, *args: str, stdin: str | None = None, **env: str) -> str:
    """`flask --app feedback_api ...` against the live server's store, as an admin runs it."""
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "feedback_api", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "TIDEWAY_DATABASE_URL": server.database_url,
             "TIDEWAY_SITE_DIR": server.env["TIDEWAY_SITE_DIR"],
             "TIDEWAY_SECRET_KEY": TEST_SECRET, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def create_account(server, name: str, role: str = "reviewer", team: str = "docs-team") -> None:
    flask_cli(
        server, "users", "create", name, "--email", f"{name}@example.invalid", "--role", role,
        "--team", team, "--display-name", name.title(), "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip


def submit(server, reader: str = "203.0.113.7", **fields) -> dict:
    """A reader's submission through the real ingest endpoint."""
    body = {"rating": 0, "idempotency_key": uuid.uuid4().hex, **fields}
    request = urllib.request.Request(
        f"{server.url}/api/v1/feedback", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)
        return json.load(response)


@pytest.fixture
def team(live_server, store, published_site):
    """An admin and two reviewers made with the CLI; tasks made by readers' submissions."""
    create_account(live_server, "ana", role="admin")
    create_account(live_server, "bo", team="platform-team")  # reference/ pages are theirs
    create_account(live_server, "cy", team="api-team")
    v, old = published_site.current, published_site.older
    manifest = json.loads((published_site.site_dir / v / "feedback-manifest.json").read_text())
    anchor = next(p for p in manifest["pages"] if p["url"] == "quickstart/")["anchors"][1]
    first = submit(
        live_server, page="quickstart/", version=v, reasons=["broken_example"],
        comment="The curl example answers 422 for me.\nWhich version field is expected?",
        selection="make serve", anchor=anchor, locale="en-GB",
        notify=True, email="reader@example.com",
    )  # fmt: skip
    submit(live_server, reader="198.51.100.2", page="quickstart/", version=v,
           comment="La commande « make serve » ne démarre pas.", locale="fr-FR")  # fmt: skip
    api = submit(live_server, page="reference/api/", version=v, comment="Please list the errors.",
                 notify=True, email="api-reader@example.com")  # fmt: skip
    config = submit(live_server, page="reference/configuration/", version=old, rating=1,
                    comment="Would love an example for every setting.")  # fmt: skip
    home = submit(live_server, page="", version=v, reasons=["hard_to_follow"])
    # The writer routes a submission just after answering it: the task is read from the store.
    ids = {name: services.routed_task(live_server.database_url, answer["id"])
           for name, answer in (("quickstart", first), ("api", api), ("config", config),
                                ("home", home))}  # fmt: skip
    assert all(ids.values()), ids
    # One task whose first-response time passed 20 minutes ago; the real sweep finds it.
    with store.transaction() as db:
        task = db.get(Task, ids["quickstart"])
        past = datetime.now(UTC) - timedelta(minutes=20)
        task.first_response_warn_at = past - timedelta(minutes=5)
        task.first_response_due = task.due_at = past
    flask_cli(live_server, "sla", "sweep", "--no-mail")
    with store.transaction() as db:
        assert db.get(Task, ids["quickstart"]).breached
    people = {u.name: u.id for u in store_users(store)}
    return {"people": people, "tasks": ids, "anchor": anchor}


def store_users(store):
    from sqlalchemy import select

    from feedback_api.store.models import User

    with store.transaction() as db:
        return list(db.scalars(select(User)))


def add_history(store, published_site) -> None:
    """A month of ratings, answered tasks and one fix before today, so that the insights
    have shapes to show (rows written as the store keeps them; the ingest API stamps now)."""
    import random

    from feedback_api.store.models import Feedback

    rng = random.Random(4)
    now = datetime.now(UTC)
    v, old = published_site.current, published_site.older
    shares = {("quickstart/", v): 0.35, ("reference/api/", v): 0.6, ("", v): 0.8,
              ("quickstart/", old): 0.5, ("reference/configuration/", old): 0.45,
              ("reference/configuration/", v): 0.8}  # fmt: skip
    with store.transaction() as db:
        n = 0
        for day in range(28, 0, -1):
            for (page, version), share in shares.items():
                if (page, version) == ("reference/configuration/", v) and day > 14:
                    continue  # the page was fixed in this version two weeks ago
                for _ in range(rng.randint(2, 6)):
                    n += 1
                    db.add(Feedback(
                        page=page, version=version, rating=int(rng.random() < share + day / 200),
                        reasons=[], notify=False, idempotency_key=f"history-{n:05d}",
                        request_hash="0" * 64,
                        created_at=now - timedelta(days=day, minutes=rng.randint(0, 600)),
                    ))  # fmt: skip
        for i, (team_name, minutes, late) in enumerate(
            [
                ("docs-team", 35, False),
                ("docs-team", 90, False),
                ("docs-team", 300, True),
                ("api-team", 20, False),
                ("api-team", 400, True),
            ]  # fmt: skip
        ):
            created = now - timedelta(days=16 - i)
            due = created + timedelta(hours=4)
            db.add(Task(
                page="reference/configuration/", version=old, state="closed",
                category="problem", priority="normal", priority_rule="normal: default",
                team=team_name, tier=1, feedback_count=1, reader_count=1,
                created_at=created, updated_at=created, first_response_due=due,
                first_response_warn_at=due - timedelta(hours=1),
                resolution_due=due + timedelta(days=3), resolution_warn_at=due + timedelta(days=2),
                first_responded_at=created + timedelta(minutes=minutes), breached=late,
                resolved_at=created + timedelta(days=2), closed_at=created + timedelta(days=3),
                fixed_in_version=v if i == 0 else None,
            ))  # fmt: skip


def new_page(browser, server, scheme="light", width=1360, height=900):
    context = browser.new_context(
        color_scheme=scheme, viewport={"width": width, "height": height}, base_url=server.url
    )
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    return page


def sign_in(page, name="ana", password=PASSWORD):
    page.goto("/dashboard/")
    page.get_by_label("Account name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    page.wait_for_load_state("load")  # its stylesheet too, before anyone measures colours


def axe_violations(page) -> list[str]:
    if not AXE.exists():
        services.unavailable(f"{AXE} missing: run `npm ci` in tests/js (make test does)")
    # evaluate() is not subject to the page's CSP, unlike an injected <script>.
    if not page.evaluate("!!window.axe"):
        page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => (await axe.run(document, {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                              'wcag22aa', 'best-practice']}})
           ).violations.flatMap(v => v.nodes.map(n =>
             `${v.id}: ${n.target.join(' ')}: ${n.failureSummary}`))"""
    )


def queue_pages(page) -> list[str]:
    """The queue's pages by path (shown beside the title, or alone when the site has none)."""
    # A click that navigates returns once the new page starts loading: its table may not be
    # parsed whole yet on a busy machine.
    page.wait_for_load_state("domcontentloaded")
    return page.locator("table.tasks td.page").evaluate_all(
        "cells => cells.map(c => (c.querySelector('.page-path') || c.querySelector('a'))"
        ".textContent.trim())"
    )


def task_link(page, path: str):
    """The queue's link to the task on the page with this path."""
    cell = page.locator("table.tasks td.page").filter(has=page.locator(".page-path", has_text=path))
    return cell.get_by_role("link")


def test_sign_in_and_work_the_queue_filters(browser, live_server, team, published_site):
    page = new_page(browser, live_server)
    page.goto("/dashboard/")
    page.get_by_label("Account name").fill("ana")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert "do not match" in page.get_by_role("alert").inner_text()
    sign_in(page)
    pages = queue_pages(page)
    assert len(pages) == 4 and pages[0] == "quickstart/"  # the breached one first
    first = page.locator("table.tasks tbody tr").first
    assert "Breached" in first.inner_text() and "overdue by" in first.inner_text()
    page.get_by_label("Version").select_option(published_site.older)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**/dashboard/?*version={published_site.older}*")
    assert queue_pages(page) == ["reference/configuration/"]
    # The filters are in the URL: a reload or a shared link shows the same queue.
    page.reload()
    assert queue_pages(page) == ["reference/configuration/"]
    page.get_by_role("link", name="Clear").click()
    page.get_by_role("link", name="Breached (1)").click()
    assert queue_pages(page) == ["quickstart/"]
    page.get_by_role("link", name="Breached (1)").click()  # off again
    assert len(queue_pages(page)) == 4
    assert page.dialogs == []


def test_bulk_assign_from_the_queue(browser, live_server, team, store):
    page = new_page(browser, live_server)
    sign_in(page)
    page.get_by_label("Select task {}".format(team["tasks"]["quickstart"])).check()
    page.get_by_label("Select task {}".format(team["tasks"]["home"])).check()
    page.get_by_label("Assign selected to").select_option(label="Cy · api-team")
    page.get_by_role("button", name="Assign", exact=True).click()
    page.get_by_text("Assigned 2 tasks.").wait_for()
    with store.transaction() as db:
        owners = {db.get(Task, team["tasks"][k]).owner_id for k in ("quickstart", "home")}
    assert owners == {team["people"]["cy"]}
    page.get_by_label("Owner").select_option(label=f"Cy ({2})")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/dashboard/?*owner=*")
    assert sorted(queue_pages(page)) == ["(home page)", "quickstart/"]


def test_keyboard_only_sign_in_and_open_a_task(browser, live_server, team):
    page = new_page(browser, live_server)
    page.goto("/dashboard/")
    # The account field has focus on arrival; Tab moves through the form in order.
    page.keyboard.type("ana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Review queue").wait_for()
    # The skip link is the first stop and leads past the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    link = task_link(page, "quickstart/")
    link.focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="What readers said (2)").wait_for()
    # A focused control shows a visible outline.
    # Reached with Tab from the section before it (closed), as a keyboard user would.
    page.locator("summary", has_text="Change priority").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Internal note"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    # Open the note form, write and send it with the keyboard alone.
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "note"
    page.keyboard.type("Written without a mouse")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_text("Note added.").wait_for()
    assert "Written without a mouse" in page.locator(".timeline").inner_text()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_screen_passes_axe_and_is_photographed(
    browser, live_server, team, scheme, output_dir, store, published_site
):
    add_history(store, published_site)
    page = new_page(browser, live_server, scheme)
    page.goto("/dashboard/")
    assert axe_violations(page) == []
    page.screenshot(path=str(output_dir / f"signin-{scheme}.png"))
    sign_in(page)
    assert axe_violations(page) == []
    page.screenshot(path=str(output_dir / f"queue-{scheme}.png"), full_page=True)
    page.goto(f"/dashboard/tasks/{team['tasks']['quickstart']}")
    page.screenshot(path=str(output_dir / f"task-{scheme}.png"), full_page=True)
    for summary in page.locator(".actions-panel summary").all():
        if summary.evaluate("s => !s.parentElement.open"):
            summary.click()
    assert axe_violations(page) == []  # with every action's form open
    page.goto("/dashboard/insights")
    assert axe_violations(page) == []
    page.screenshot(path=str(output_dir / f"insights-{scheme}.png"), full_page=True)
    assert page.dialogs == []


@pytest.fixture
def attacker_site():
    """Another origin on 127.0.0.1 (same site for cookies: SameSite=Lax does not stop it)."""
    import http.server
    import threading

    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, b"")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.pages = pages
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()


def test_a_forged_form_from_another_origin_is_refused(
    browser, live_server, team, store, attacker_site
):
    from feedback_api.store.models import TaskEvent

    page = new_page(browser, live_server)
    sign_in(page)
    target = team["tasks"]["quickstart"]
    with store.transaction() as db:
        before, events = db.get(Task, target).owner_id, db.query(TaskEvent).count()
    attacker_site.pages["/"] = f"""<!doctype html><title>prize</title>
      <form id=f method=post action="{live_server.url}/dashboard/tasks/assign">
      <input name=task_ids value="{target}"><input name=owner_id value="{team["people"]["cy"]}">
      <input name=csrf_token value="guessed"></form>
      <script>document.getElementById('f').submit()</script>""".encode()
    with page.expect_response(f"{live_server.url}/dashboard/tasks/assign") as answer:
        page.goto(attacker_site.url + "/")
    assert answer.value.status == 400
    page.get_by_role("heading", name="The form had expired").wait_for()
    with store.transaction() as db:
        assert db.get(Task, target).owner_id == before
        assert db.query(TaskEvent).count() == events


@pytest.fixture
def smtp_inbox():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 Message accepted"

    inbox = Inbox()
    inbox.port = services.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


def test_a_reviewer_works_a_task_from_new_to_resolved_and_the_reader_is_told(
    browser, live_server, team, store, published_site, smtp_inbox, output_dir
):
    task_id = team["tasks"]["api"]
    page = new_page(browser, live_server)
    sign_in(page, "bo")
    task_link(page, "reference/api/").click()
    page.get_by_role("heading", name="What readers said (1)").wait_for()
    assert page.get_by_text("Please list the errors.").is_visible()
    panel = page.locator(".actions-panel")

    def change_state(label: str, reason: str = "") -> None:
        panel.get_by_label("Change", exact=True).select_option(label=label)
        panel.get_by_label("Reason (optional)").first.fill(reason)
        panel.get_by_role("button", name="Change state").click()
        page.locator(".flash-ok").wait_for()

    # Opened before platform-team had anyone, the sweep gave it to its only member.
    assert "bo · team platform-team" in page.locator("dl").first.inner_text()
    change_state("Mark triaged", "Real gap: no error table")
    panel.locator("summary", has_text="Internal note").click()
    panel.get_by_label("Note (only reviewers see it)").fill("Error codes live in errors.py")
    panel.get_by_role("button", name="Add note").click()
    page.get_by_text("Note added.").wait_for()
    change_state("Start work")
    panel.locator("summary", has_text="Resolve").click()
    panel.get_by_label("Fixed in version").select_option(published_site.current)
    panel.get_by_label("Link to the change").fill("https://git.example.com/docs/commit/4f2e9a1")
    panel.get_by_role("button", name="Preview the reader's mail").click()
    preview = page.locator(".mail-preview")
    preview.wait_for()
    assert "https://git.example.com/docs/commit/4f2e9a1" in preview.inner_text()
    assert f"/{published_site.current}/reference/api/" in preview.inner_text()
    page.screenshot(path=str(output_dir / "resolve-preview.png"), full_page=True)
    panel.get_by_role("button", name="Resolve", exact=True).click()
    page.get_by_text(f"Task #{task_id} is resolved").wait_for()
    assert (
        "Resolved"
        in page.locator(".task-title").first.inner_text()
        + page.locator(".task-title").nth(1).inner_text()
    )
    timeline = page.locator(".timeline").inner_text()
    for expected in ("Triaged", "In progress", "Resolved", "Error codes live in errors.py"):
        assert expected in timeline
    page.screenshot(path=str(output_dir / "resolved.png"), full_page=True)

    with store.transaction() as db:
        task = db.get(Task, task_id)
        assert (task.state, task.owner_id) == ("resolved", team["people"]["bo"])
    # The mail loop `make serve` runs, pointed at the test's SMTP server.
    flask_cli(live_server, "sla", "sweep", TIDEWAY_SMTP_HOST="127.0.0.1",
              TIDEWAY_SMTP_PORT=str(smtp_inbox.port))  # fmt: skip
    # A new address: the note waits until the reader confirms, by the link in the first mail.
    [confirmation] = [m for m in smtp_inbox.messages if m["To"] == "api-reader@example.com"]
    assert confirmation["Subject"] == "Confirm that you want mail about this page"
    [link] = [w for w in confirmation.get_content().split() if "/api/v1/confirm/" in w]
    page.goto(live_server.url + "/api/v1/confirm/" + link.split("/api/v1/confirm/", 1)[1])
    page.get_by_role("button", name="Confirm that you want mail about this page").click()
    page.get_by_role("heading", name="Confirmed").wait_for()
    flask_cli(live_server, "sla", "sweep", TIDEWAY_SMTP_HOST="127.0.0.1",
              TIDEWAY_SMTP_PORT=str(smtp_inbox.port))  # fmt: skip
    resolved = [m for m in smtp_inbox.messages if m["To"] == "api-reader@example.com"
                and m["Subject"] == "The page you told us about is fixed"]  # fmt: skip
    assert len(resolved) == 1
    body = resolved[0].get_content()
    assert f"/{published_site.current}/reference/api/" in body
    assert "https://git.example.com/docs/commit/4f2e9a1" in body


def test_a_reviewer_cannot_give_a_task_away_even_by_editing_the_form(
    browser, live_server, team, store
):
    from feedback_api.store.models import TaskEvent

    with store.transaction() as db:
        task_id = next(
            t for t in team["tasks"].values() if db.get(Task, t).owner_id != team["people"]["bo"]
        )
        before = db.get(Task, task_id).owner_id
        events = db.query(TaskEvent).filter(TaskEvent.task_id == task_id).count()
    page = new_page(browser, live_server)
    sign_in(page, "bo")
    page.goto(f"/dashboard/tasks/{task_id}")
    assert page.locator("summary", has_text="Merge into another task").count() == 0
    panel = page.locator(".actions-panel")
    panel.locator("summary", has_text="Assign").click()
    # What a curious reviewer could do in the browser's developer tools.
    page.evaluate(
        "id => { document.querySelector(\"input[name='owner_id']\").value = id }",
        str(team["people"]["cy"]),
    )
    with page.expect_response(f"**/dashboard/tasks/{task_id}/assign") as answer:
        panel.get_by_role("button", name="Take this task").click()
    assert answer.value.status == 403
    refusal = page.locator(".flash-error").inner_text()
    assert "admin" in refusal, refusal
    with store.transaction() as db:
        assert db.get(Task, task_id).owner_id == before
        assert db.query(TaskEvent).filter(TaskEvent.task_id == task_id).count() == events


PHONE, DESKTOP = 390, 1280


def test_queue_task_and_insights_fit_a_phone_and_a_desktop(
    browser, live_server, team, store, published_site, output_dir
):
    """No sideways scrolling of the page at 390 px (a wide table scrolls in its own box);
    screenshots of each screen at both widths, to be looked at."""
    add_history(store, published_site)
    task = team["tasks"]["quickstart"]
    screens = {
        "queue": "/dashboard/",
        "task": f"/dashboard/tasks/{task}",
        "insights": "/dashboard/insights?days=365",
    }
    for width in (PHONE, DESKTOP):
        page = new_page(browser, live_server, width=width, height=844 if width == PHONE else 900)
        sign_in(page)
        for name, path in screens.items():
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(output_dir / f"{name}-{width}.png"), full_page=True)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{name} is {wide} px wide at {width} px"
            # Nothing sticks out of the page's right edge (clipped, it would be unreachable).
            outside = page.evaluate(
                """w => [...document.querySelectorAll('main *')]
                     .filter(e => !e.closest('.table-scroll, .chart-box')
                             && e.getBoundingClientRect().right > w + 1)
                     .map(e => e.tagName + '.' + e.getAttribute('class'))""",
                width,
            )
            assert outside == [], (name, width, outside[:5])
        if width == PHONE:
            page.goto(screens["queue"])
            # A row reads as a card: its page, clock, badges, owner and feedback all in view.
            card = page.locator("table.tasks tbody tr").first
            box = card.bounding_box()
            assert box["width"] <= width and box["height"] < 260
            assert "Owner:" in card.inner_text() and card.get_by_role("checkbox").is_visible()
            page.goto(screens["task"])
            page.locator("summary", has_text="Resolve").click()
            page.screenshot(path=str(output_dir / f"task-resolve-{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.dialogs == []
        page.context.close()


def test_a_refused_fix_link_keeps_the_typed_note(browser, live_server, team, output_dir):
    """The browser accepts an ftp: URL in the url field; the dashboard does not: the form
    comes back with the note, version and link as typed, and says why beside the link."""
    task = team["tasks"]["api"]
    page = new_page(browser, live_server)
    sign_in(page, "bo")
    page.goto(f"/dashboard/tasks/{task}")
    panel = page.locator(".actions-panel")
    panel.locator("summary", has_text="Resolve").click()
    panel.get_by_label("Link to the change").fill("ftp://git.example.com/docs/commit/4f2e9a1")
    panel.get_by_label("Note (optional)").fill("Added the error table, see errors.md")
    with page.expect_response(f"**/dashboard/tasks/{task}/resolve") as answer:
        panel.get_by_role("button", name="Resolve", exact=True).click()
    assert answer.value.status == 422
    page.wait_for_load_state("load")  # its stylesheet too: the layout is measured below
    link = panel.get_by_label("Link to the change")
    link.wait_for()
    assert link.input_value() == "ftp://git.example.com/docs/commit/4f2e9a1"
    assert panel.get_by_label("Note (optional)").input_value() == (
        "Added the error table, see errors.md"
    )
    assert link.get_attribute("aria-invalid") == "true"
    error = page.locator("#fix-url-error")
    assert "http(s) URL" in error.inner_text() and error.is_visible()
    # Beside the field: just below it, in the same form.
    assert 0 <= error.bounding_box()["y"] - link.bounding_box()["y"] < 80
    assert axe_violations(page) == []
    page.screenshot(path=str(output_dir / "refused-fix-link.png"), full_page=True)
    # Corrected, it goes through.
    link.fill("https://git.example.com/docs/commit/4f2e9a1")
    panel.get_by_role("button", name="Resolve", exact=True).click()
    page.get_by_text(f"Task #{task} is resolved").wait_for()
    assert "Added the error table, see errors.md" in page.locator(".timeline").inner_text()
