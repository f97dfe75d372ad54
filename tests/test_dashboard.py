"""The dashboard through Flask's test client on both stores: sign-in and sessions, CSRF,
roles, escaping of what readers wrote, and the headers every page carries."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from feedback_api import create_app
from feedback_api.store.models import Feedback, Outbox, Task, TaskEvent, User
from tests.conftest import TEST_SECRET

PASSWORD = "correct horse battery staple"
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def add_user(store, name, role="reviewer", team="docs-team", password=PASSWORD, active=True):
    with store.transaction() as db:
        user = User(
            name=name,
            email=f"{name}@example.invalid",
            display_name=name.title(),
            role=role,
            team=team,
            tier=1,
            password_hash=generate_password_hash(password),
            active=active,
            created_at=datetime.now(UTC),
        )
        db.add(user)
        db.flush()
        return user.id


def add_task(store, page="quickstart/", version="0.1", minutes_left=60, **fields):
    now = datetime.now(UTC)
    due = now + timedelta(minutes=minutes_left)
    values = dict(
        page=page, version=version, state="new", category="problem", priority="normal",
        priority_rule="normal: default", team="docs-team", tier=1, feedback_count=1,
        reader_count=1, created_at=now - timedelta(hours=1), updated_at=now,
        first_response_due=due, first_response_warn_at=due - timedelta(minutes=15),
        resolution_due=due + timedelta(hours=24), resolution_warn_at=due + timedelta(hours=18),
        due_at=due, open_key=f"{version}\n{page}",
    )  # fmt: skip
    values.update(fields)
    with store.transaction() as db:
        task = Task(**values)
        db.add(task)
        db.flush()
        return task.id


def add_feedback(store, task_id, page="quickstart/", version="0.1", **fields):
    add_feedback.n = getattr(add_feedback, "n", 0) + 1
    values = dict(
        page=page, version=version, rating=0, comment=None, reasons=[], selection=None,
        anchor=None, notify=False, locale="en", created_at=datetime.now(UTC),
        idempotency_key=f"key-{add_feedback.n:06d}-{datetime.now(UTC).timestamp()}",
        request_hash="0" * 64, task_id=task_id,
    )  # fmt: skip
    values.update(fields)
    with store.transaction() as db:
        db.add(Feedback(**values))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, name, password=PASSWORD):
    token = csrf_of(client.get("/dashboard/").text)
    return client.post(
        "/dashboard/sign-in", data={"name": name, "password": password, "csrf_token": token}
    )


def app_with(published_site, sqlite_url, **settings):
    """An app on the test's SQLite store with some settings of its own."""
    base = {"database_url": sqlite_url, "site_dir": published_site.site_dir}
    return create_app({**base, "secret_key": TEST_SECRET, **settings})


@pytest.fixture
def store(app):
    return app.extensions["store"]


def test_signed_out_reader_gets_the_sign_in_form_and_nothing_else(client, store):
    add_task(store)
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert 'action="/dashboard/sign-in"' in page.text
    assert "quickstart/" not in page.text
    task = client.get("/dashboard/tasks/1")
    assert task.status_code == 302
    assert task.headers["Location"].startswith("/dashboard/?next=")
    assert client.get("/dashboard/insights").status_code == 302


def test_sign_in_sets_a_hardened_session_cookie_and_sign_out_ends_it(client, store):
    add_user(store, "ana")
    response = sign_in(client, "ana")
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    assert "Review queue" in client.get("/dashboard/").text
    token = csrf_of(client.get("/dashboard/").text)
    assert client.post("/dashboard/sign-out", data={"csrf_token": token}).status_code == 303
    assert "Review queue" not in client.get("/dashboard/").text


def test_the_cookie_is_secure_over_https(client, store):
    add_user(store, "ana")
    token = csrf_of(client.get("/dashboard/", base_url="https://localhost").text)
    response = client.post(
        "/dashboard/sign-in",
        data={"name": "ana", "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/dashboard/"},
    )
    assert response.status_code == 303
    assert "; Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "name,password", [("ana", "wrong"), ("nobody", PASSWORD), ("retired", PASSWORD)]
)
def test_wrong_password_unknown_or_inactive_account_is_refused(client, store, name, password):
    add_user(store, "ana")
    add_user(store, "retired", active=False)
    response = sign_in(client, name, password)
    assert response.status_code == 401
    assert "do not match an active account" in response.text
    assert "Review queue" not in client.get("/dashboard/").text


def test_sign_in_without_csrf_token_is_400_and_signs_nobody_in(client, store):
    add_user(store, "ana")
    client.get("/dashboard/")
    response = client.post("/dashboard/sign-in", data={"name": "ana", "password": PASSWORD})
    assert response.status_code == 400
    assert "Review queue" not in client.get("/dashboard/").text


def test_sign_in_attempts_are_rate_limited(published_site, sqlite_url):
    app = app_with(published_site, sqlite_url, dashboard_signin_limit="3/hour")
    add_user(app.extensions["store"], "ana")
    client = app.test_client()
    statuses = [sign_in(client, "ana", "wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # Even the right password waits now, until the hour's window ends.
    refused = sign_in(client, "ana")
    assert refused.status_code == 429
    assert 3500 < int(refused.headers["Retry-After"]) <= 3601
    app.extensions["store"].dispose()


def test_failing_on_purpose_elsewhere_locks_nobody_out(published_site, sqlite_url):
    # The attacker knows the name and fails until refused; the owner, elsewhere, signs in.
    app = app_with(published_site, sqlite_url, dashboard_signin_limit="3/hour")
    add_user(app.extensions["store"], "ana")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert [sign_in(attacker, "ana", "wrong").status_code for _ in range(4)][-1] == 429
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert sign_in(owner, "ana").status_code == 303
    # And signing in is not an attempt that counts: the owner can do it again and again.
    for _ in range(4):
        owner.post(
            "/dashboard/sign-out", data={"csrf_token": csrf_of(owner.get("/dashboard/").text)}
        )
        assert sign_in(owner, "ana").status_code == 303
    app.extensions["store"].dispose()


def test_an_idle_session_expires(published_site, sqlite_url):
    app = app_with(published_site, sqlite_url, dashboard_idle_minutes=1)
    add_user(app.extensions["store"], "ana")
    client = app.test_client()
    sign_in(client, "ana")
    assert "Review queue" in client.get("/dashboard/").text
    with client.session_transaction("/dashboard/") as session:
        session["seen"] -= 61
    page = client.get("/dashboard/")
    assert "Review queue" not in page.text
    assert "session ended" in page.text
    app.extensions["store"].dispose()


def test_a_changed_password_ends_existing_sessions(client, store):
    uid = add_user(store, "ana")
    sign_in(client, "ana")
    with store.transaction() as db:
        db.get(User, uid).password_hash = generate_password_hash("a new one")
    assert "Review queue" not in client.get("/dashboard/").text


@pytest.mark.parametrize(
    "target,expected",
    [
        ("/dashboard/tasks/1", "/dashboard/tasks/1"),
        ("https://evil.example/", "/dashboard/"),
        ("//evil.example/dashboard/", "/dashboard/"),
        ("/dashboard/\\evil", "/dashboard/"),
        ("javascript:alert(1)", "/dashboard/"),
    ],
)
def test_after_sign_in_only_a_dashboard_path_is_followed(client, store, target, expected):
    add_user(store, "ana")
    token = csrf_of(client.get("/dashboard/").text)
    response = client.post(
        "/dashboard/sign-in",
        data={"name": "ana", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.headers["Location"] == expected


def test_every_dashboard_page_has_a_strict_csp_and_no_inline_script_or_style(client, store):
    add_user(store, "ana")
    task = add_task(store)
    add_feedback(store, task, comment="hello")
    sign_in(client, "ana")
    for path in ("/dashboard/", f"/dashboard/tasks/{task}", "/dashboard/insights"):
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_reader_text_is_escaped_on_queue_and_task_page(client, store):
    add_user(store, "ana")
    page = 'guide/"><svg onload=alert(1)>/'
    task = add_task(store, page=page, priority_rule=XSS)
    add_feedback(
        store,
        task,
        page=page,
        comment=XSS + " \u202egnp.exe",
        selection="</blockquote><script>x()</script>",
        anchor='x" onmouseover="alert(1)',
        reasons=["<b>bold</b>"],
    )
    sign_in(client, "ana")
    for path in ("/dashboard/", f"/dashboard/tasks/{task}"):
        html = client.get(path).text
        assert "<script>window" not in html and "<svg onload" not in html
        assert "onerror=" not in html.replace("onerror=&#34;", "")
    html = client.get(f"/dashboard/tasks/{task}").text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert '<span class="bidi-mark"' in html and "\u202e" not in html
    assert 'onmouseover="alert' not in html
    # The anchor is not a heading of the published page: no link is made from it.
    assert "#x%22" not in html and 'href="#x' not in html
    assert "<b>bold</b>" not in html


def test_task_page_links_to_the_page_in_its_version_and_in_latest(client, store, published_site):
    add_user(store, "ana")
    task = add_task(store, page="quickstart/", version=published_site.older)
    add_feedback(store, task, version=published_site.older, selection="make serve", anchor="nope")
    sign_in(client, "ana")
    html = client.get(f"/dashboard/tasks/{task}").text
    assert f'href="/{published_site.older}/quickstart/"' in html
    assert 'href="/latest/quickstart/"' in html
    assert "is not on the published page" in html
    # A page the site does not have gets no link at all.
    missing = add_task(store, page="no/such/page/", version=published_site.older)
    html = client.get(f"/dashboard/tasks/{missing}").text
    assert "/no/such/page/" not in html.replace("no/such/page/</bdi>", "")
    assert "has no such page" in html


def test_queue_sorts_by_nearest_deadline_and_filters_live_in_the_url(client, store):
    uid = add_user(store, "ana")
    late = add_task(store, page="a/", minutes_left=-30, breached=True)
    soon = add_task(store, page="b/", minutes_left=10, priority="urgent", owner_id=uid)
    later = add_task(store, page="c/", minutes_left=300)
    add_task(store, page="d/", state="resolved", due_at=None)
    sign_in(client, "ana")
    html = client.get("/dashboard/").text
    order = [int(n) for n in re.findall(r'name="task_ids" value="(\d+)"', html)]
    assert order == [late, soon, later]
    assert "3 tasks" in html
    assert "Breached" in html and "overdue by 30 min" in html
    mine = client.get("/dashboard/?owner=me").text
    assert re.findall(r'name="task_ids" value="(\d+)"', mine) == [str(soon)]
    breached = client.get("/dashboard/?breached=yes").text
    assert re.findall(r'name="task_ids" value="(\d+)"', breached) == [str(late)]
    resolved = client.get("/dashboard/?state=resolved").text
    assert len(re.findall(r'name="task_ids"', resolved)) == 1
    # Counts per filter value, under the other filters.
    assert "Urgent (1)" in html and "Breached only (1)" in html


def test_queue_is_paginated(published_site, sqlite_url):
    app = app_with(published_site, sqlite_url, dashboard_page_size=10)
    store = app.extensions["store"]
    add_user(store, "ana")
    for i in range(23):
        add_task(store, page=f"p{i:02d}/", minutes_left=i)
    client = app.test_client()
    sign_in(client, "ana")
    first = client.get("/dashboard/").text
    assert "Page 1 of 3" in first and 'rel="next"' in first
    third = client.get("/dashboard/?p=3").text
    assert len(re.findall(r'name="task_ids"', third)) == 3
    store.dispose()


def test_bulk_assign_without_csrf_is_400_and_changes_nothing(client, store):
    uid = add_user(store, "ana")
    task = add_task(store)
    sign_in(client, "ana")
    response = client.post(
        "/dashboard/tasks/assign", data={"task_ids": [str(task)], "owner_id": str(uid)}
    )
    assert response.status_code == 400
    wrong = client.post(
        "/dashboard/tasks/assign",
        data={"task_ids": [str(task)], "owner_id": str(uid), "csrf_token": "forged"},
    )
    assert wrong.status_code == 400
    with store.transaction() as db:
        assert db.get(Task, task).owner_id is None
        assert db.scalar(select(func.count()).select_from(TaskEvent)) == 0


def post_action(client, task, action, **data):
    token = csrf_of(client.get(f"/dashboard/tasks/{task}").text)
    return client.post(f"/dashboard/tasks/{task}/{action}", data={**data, "csrf_token": token})


def events_of(store, task):
    with store.transaction() as db:
        return [
            (e.kind, e.from_value, e.to_value, e.reason)
            for e in db.scalars(select(TaskEvent).where(TaskEvent.task_id == task))
        ]


def test_a_task_is_worked_from_new_to_resolved_with_an_audit_trail(client, store, published_site):
    uid = add_user(store, "ana")
    task = add_task(store, version=published_site.current)
    add_feedback(store, task, version=published_site.current, notify=True,
                 email="reader@example.invalid", comment="Broken")  # fmt: skip
    sign_in(client, "ana")
    assert post_action(client, task, "transition", to="triage").status_code == 303
    assert post_action(client, task, "assign", owner_id=str(uid)).status_code == 303
    assert post_action(client, task, "note", note="Checking with the API team").status_code == 303
    assert post_action(client, task, "transition", to="start").status_code == 303
    # The preview shows the reader's mail and changes nothing.
    preview = post_action(
        client, task, "resolve", preview="1", fixed_in_version=published_site.current,
        fix_url="https://git.example.com/docs/commit/abc123",
    )  # fmt: skip
    assert preview.status_code == 200
    assert "The page you told us about is fixed" in preview.text
    assert "https://git.example.com/docs/commit/abc123" in preview.text
    assert "1 reader asked to hear back" in preview.text
    with store.transaction() as db:
        assert db.get(Task, task).state == "in_progress"
        assert db.scalar(select(func.count()).select_from(Outbox)) == 0
    done = post_action(
        client, task, "resolve", fixed_in_version=published_site.current,
        fix_url="https://git.example.com/docs/commit/abc123", reason="Example fixed",
    )  # fmt: skip
    assert done.status_code == 303
    with store.transaction() as db:
        row = db.get(Task, task)
        assert (row.state, row.fixed_in_version, row.owner_id) == (
            "resolved", published_site.current, uid
        )  # fmt: skip
        confirmation, mail = db.scalars(
            select(Outbox).where(Outbox.task_id == task).order_by(Outbox.id)
        ).all()
        assert mail.to_address == "reader@example.invalid" and mail.kind == "resolved"
        # The address was never confirmed: the note waits for the reader's confirmation.
        assert confirmation.kind == "confirm" and mail.held and not confirmation.held
    kinds = [(k, f, t) for k, f, t, _ in events_of(store, task)]
    assert kinds == [
        ("state", "new", "triaged"),
        ("owner", None, "ana"),
        ("note", None, None),
        ("state", "triaged", "in_progress"),
        ("state", "in_progress", "resolved"),
    ]
    page = client.get(f"/dashboard/tasks/{task}").text
    assert "Checking with the API team" in page and "Example fixed" in page
    assert 'href="https://git.example.com/docs/commit/abc123"' in page


def test_illegal_or_incomplete_actions_are_refused_and_change_nothing(client, store):
    add_user(store, "ana", role="admin")
    task = add_task(store)
    sign_in(client, "ana")
    assert post_action(client, task, "transition", to="close").status_code == 409
    assert post_action(client, task, "transition", to="<script>").status_code == 422
    assert post_action(client, task, "priority", priority="urgent").status_code == 422
    refused = post_action(client, task, "resolve", fixed_in_version="0.1",
                          fix_url="javascript:alert(1)")  # fmt: skip
    assert refused.status_code == 422 and "http(s) URL" in refused.text
    assert post_action(client, task, "merge", into=str(task)).status_code == 422
    with store.transaction() as db:
        assert db.get(Task, task).state == "new"
    assert events_of(store, task) == []


def test_priority_change_needs_a_reason_and_merge_moves_the_feedback(client, store):
    add_user(store, "ana", role="admin")
    source = add_task(store, page="a/")
    target = add_task(store, page="b/")
    add_feedback(store, source, page="a/", comment="same problem")
    sign_in(client, "ana")
    assert post_action(client, target, "priority", priority="urgent",
                       reason="Security: token in the example").status_code == 303  # fmt: skip
    assert post_action(client, source, "merge", into=f"#{target}").status_code == 303
    with store.transaction() as db:
        assert db.get(Task, target).priority == "urgent"
        assert db.get(Task, source).merged_into_id == target
        assert db.get(Task, source).state == "duplicate"
    assert "same problem" in client.get(f"/dashboard/tasks/{target}").text
    assert ("priority", "normal", "urgent", "Security: token in the example") in events_of(
        store, target
    )


def test_action_without_csrf_token_is_400_and_changes_nothing(client, store):
    add_user(store, "ana")
    task = add_task(store)
    sign_in(client, "ana")
    for action, data in [("transition", {"to": "triage"}), ("note", {"note": "x"})]:
        response = client.post(f"/dashboard/tasks/{task}/{action}", data=data)
        assert response.status_code == 400
    assert events_of(store, task) == []


def test_a_reviewer_may_take_a_task_but_not_give_it_away_or_merge(client, store):
    me = add_user(store, "bo")
    other = add_user(store, "cy")
    first, second = add_task(store, page="a/"), add_task(store, page="b/")
    sign_in(client, "bo")
    page = client.get(f"/dashboard/tasks/{first}").text
    assert "Take this task" in page and "Merge into another task" not in page
    assert post_action(client, first, "assign", owner_id=str(other)).status_code == 403
    assert post_action(client, first, "merge", into=str(second)).status_code == 403
    token = csrf_of(client.get("/dashboard/").text)
    bulk = client.post(
        "/dashboard/tasks/assign",
        data={"task_ids": [str(first), str(second)], "owner_id": str(other), "csrf_token": token},
    )
    assert bulk.status_code == 403
    with store.transaction() as db:
        assert db.get(Task, first).owner_id is None and db.get(Task, second).owner_id is None
        assert db.get(Task, first).state == "new"
    assert events_of(store, first) == [] and events_of(store, second) == []
    assert post_action(client, first, "assign", owner_id=str(me)).status_code == 303
    with store.transaction() as db:
        assert db.get(Task, first).owner_id == me


def test_insights_csv_neutralises_formulas_and_needs_sign_in(client, store, published_site):
    add_user(store, "ana")
    v = published_site.current
    for page, rating in [("=cmd|' /C calc'!A0", 0), ("quickstart/", 1), ("quickstart/", 0)]:
        add_feedback(store, None, page=page, version=v, rating=rating)
    url = f"/dashboard/insights/helpfulness-by-page.csv?version={v}"
    assert client.get(url).status_code == 302
    sign_in(client, "ana")
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["page", "ratings", "helpful", "helpful_share"]
    assert ["'=cmd|' /C calc'!A0", "1", "0", "0.0"] in [r[:4] for r in rows]
    assert not any(cell.lstrip().startswith("=") for row in rows for cell in row)
    assert ["quickstart/", "2", "1", "0.5"] in [r[:4] for r in rows]
    # Every cell is quoted in the file itself, as spreadsheet-safe exports should be.
    assert all(line.startswith('"') for line in response.text.splitlines())
    assert client.get("/dashboard/insights/nope.csv").status_code == 404


def test_insights_show_each_report(client, store, published_site):
    add_user(store, "ana")
    v = published_site.current
    task = add_task(store, page="quickstart/", version=v, state="resolved", due_at=None,
                    resolved_at=datetime.now(UTC) - timedelta(minutes=5),
                    fixed_in_version=v, open_key=None)  # fmt: skip
    for rating in (0, 0, 1):
        add_feedback(store, task, version=v, rating=rating,
                     created_at=datetime.now(UTC) - timedelta(hours=2))  # fmt: skip
    add_feedback(store, None, version=v, rating=1)
    sign_in(client, "ana")
    html = client.get("/dashboard/insights").text
    assert "Helpfulness over time" in html and "<svg" in html
    assert f"/dashboard/tasks/{task}" in html  # the fix is listed
    assert "33%" in html  # 1 of 3 helpful before the fix
    assert "Not enough ratings yet" in html
    assert "Backlog now" in html


@pytest.mark.slow  # each command is a fresh flask process
def test_the_guides_account_commands_run_and_make_a_working_account(
    tmp_path, published_site, sqlite_url
):
    """The commands in docs/guides/reviewer-dashboard.md, run as written."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    guide = (ROOT / "docs" / "guides" / "reviewer-dashboard.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", guide, flags=re.S)
    assert len(blocks) == 1 and "users create" in blocks[0]
    bin_dir = os.path.dirname(sys.executable)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "TIDEWAY_DATABASE_URL": sqlite_url,
        "TIDEWAY_SITE_DIR": str(published_site.site_dir),
        "TIDEWAY_SECRET_KEY": TEST_SECRET,
        "NEW_PASSWORD": "a long passphrase for ada",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", blocks[0]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ada\tadmin\tdocs-team" in done.stdout
    app = app_with(published_site, sqlite_url)
    client = app.test_client()
    assert sign_in(client, "ada", "a long passphrase for ada").status_code == 303
    assert "Ada" in client.get("/dashboard/").text
    app.extensions["store"].dispose()


def test_behind_a_trusted_tls_proxy_the_cookie_is_secure(published_site, sqlite_url):
    def cookie(proxy_count: int) -> str:
        app = app_with(published_site, sqlite_url, proxy_count=proxy_count)
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.9"}
        # The sign-in form's CSRF token starts the session: its cookie shows the flags.
        answer = app.test_client().get("/dashboard/", headers=headers)
        app.extensions["store"].dispose()
        return answer.headers["Set-Cookie"]

    assert "; Secure" in cookie(proxy_count=1)
    # Without a trusted proxy, anyone could send the header: it is not believed.
    assert "; Secure" not in cookie(proxy_count=0)


# -- issue 15, item 8: the dashboard reads as the reviewers' own words -------------------------


def visible_text(html: str) -> str:
    """The text of an HTML fragment as a person reads it (tags gone, entities kept)."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def manifest_title(published_site, version: str, url: str) -> str:
    import json

    manifest = published_site.site_dir / version / "feedback-manifest.json"
    pages = json.loads(manifest.read_text(encoding="utf-8"))["pages"]
    return next(p["title"] for p in pages if p["url"] == url)


def test_queue_and_task_page_name_a_page_by_its_title_with_the_path_beside_it(
    client, store, published_site
):
    add_user(store, "ana")
    v = published_site.current
    title = manifest_title(published_site, v, "quickstart/")
    assert title and title != "quickstart/"
    known = add_task(store, page="quickstart/", version=v)
    unknown = add_task(store, page="no/such/page/", version=v, minutes_left=90)
    sign_in(client, "ana")
    html = client.get("/dashboard/").text
    cells = {
        int(task_id): visible_text(cell)
        for task_id, cell in re.findall(
            r'<td class="page">\s*<a href="/dashboard/tasks/(\d+)">(.*?)</a>', html, re.S
        )
    }
    assert cells == {known: title, unknown: "no/such/page/"}
    assert re.search(r'class="sub page-path"><bdi class="reader">quickstart/</bdi>', html)
    page = client.get(f"/dashboard/tasks/{known}").text
    heading = re.search(r'<h1 id="task-title">(.*?)</h1>', page, re.S).group(1)
    assert visible_text(heading) == f"{title} in {v}"
    assert re.search(r'<p class="page-path"><bdi class="reader">quickstart/</bdi></p>', page)
    # The site has no such page: its path is all there is to show.
    page = client.get(f"/dashboard/tasks/{unknown}").text
    heading = re.search(r'<h1 id="task-title">(.*?)</h1>', page, re.S).group(1)
    assert visible_text(heading) == f"no/such/page/ in {v}"
    assert 'class="page-path"' not in page


def test_reasons_show_the_labels_readers_saw(client, store):
    add_user(store, "ana")
    task = add_task(store)
    add_feedback(store, task, reasons=["broken_example", "outdated", "needs_a_screenshot"])
    sign_in(client, "ana")
    html = client.get(f"/dashboard/tasks/{task}").text
    reasons = re.search(r'<span class="reasons">(.*?)</span>\s*(?:<span>|</header>)', html, re.S)
    shown = re.findall(r'<bdi class="reader">([^<]*)</bdi>', reasons.group(1))
    assert shown == ["An example does not work", "Out of date", "Needs a screenshot"]
    assert ">broken_example<" not in html


def test_the_dashboards_reason_labels_are_the_widgets(published_site):
    """One table in present.py, kept in step with the widget's English labels."""
    from feedback_api.config import DEFAULT_REASONS_HELPFUL, DEFAULT_REASONS_NOT_HELPFUL
    from feedback_api.dashboard.present import REASON_LABELS
    from tests.conftest import ROOT

    widget = (ROOT / "overrides" / "partials" / "tideway-feedback.html").read_text(encoding="utf-8")
    english = widget[: widget.index('"reason.other"') + 100]
    labels = dict(re.findall(r'"reason\.([a-z_]+)": "([^"]+)"', english))
    assert REASON_LABELS == labels
    assert set(DEFAULT_REASONS_HELPFUL) | set(DEFAULT_REASONS_NOT_HELPFUL) <= set(labels)


def test_insights_period_options_read_as_english(client, store):
    add_user(store, "ana")
    sign_in(client, "ana")
    html = client.get("/dashboard/insights?days=365").text
    select = re.search(r'<select id="i-days" name="days">(.*?)</select>', html, re.S).group(1)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", select)
    assert options == ["Last 7 days", "Last 30 days", "Last 90 days", "Last 12 months"]
    assert re.search(r'<option value="365" selected>Last 12 months</option>', select)


def add_event(store, task, kind, before=None, after=None, reason=None, actor=None):
    with store.transaction() as db:
        db.add(TaskEvent(task_id=task, actor_id=actor, at=datetime.now(UTC), kind=kind,
                         from_value=before, to_value=after, reason=reason))  # fmt: skip


def test_timeline_entries_read_as_sentences(client, store):
    uid = add_user(store, "ana", role="admin")
    task = add_task(store)
    add_event(store, task, "state", after="new", reason="opened as a problem")
    add_event(store, task, "priority", after="normal", reason="normal: default for a problem")
    add_event(store, task, "feedback", after="2", reason="1 submission(s) joined")
    add_event(store, task, "feedback", after="3,4", reason="2 submission(s) joined")
    add_event(store, task, "category", "suggestion", "problem",
              "the submission was completed: reason broken_example")  # fmt: skip
    add_event(store, task, "priority", "normal", "urgent", 'urgent: signal word "security"')
    add_event(store, task, "priority", "urgent", "normal", "not a security issue", actor=uid)
    add_event(store, task, "owner", None, "ana", "fewest open tasks in the team")
    add_event(store, task, "owner", "ana", "bo", "escalated to tier 2")
    add_event(store, task, "state", "new", "in_progress", actor=uid)
    add_event(store, task, "sla", None, "first response warning", "first response due soon")
    add_event(store, task, "sla", None, "resolution breached", "resolution overdue")
    add_event(store, task, "tier", "1", "2", "first response overdue")
    add_event(store, task, "notify", None, "tier 2 of docs-team", "first response overdue")
    add_event(store, task, "merge", "7", str(task), "same page", actor=uid)
    add_event(store, task, "note", reason="Asked the API team", actor=uid)
    sign_in(client, "ana")
    html = client.get(f"/dashboard/tasks/{task}").text
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', html, re.S).group(1)
    lines = [
        visible_text(m)
        for m in re.findall(
            r'<span class="what">(.*?)</span>\s*(?:<span class="why">|</li>)', timeline, re.S
        )  # fmt: skip
    ]
    assert lines == [
        "Task opened",
        "State set to New",
        "Priority set to Normal",
        "1 submission joined (#2)",
        "2 submissions joined (#3, #4)",
        "Class changed from Suggestion to Problem",
        "Priority raised from Normal to Urgent",
        "Priority lowered from Urgent to Normal",
        "Assigned to ana",
        "Reassigned from ana to bo",
        "State changed from New to In progress",
        "First response due soon",
        "Resolution overdue",
        "Escalated from tier 1 to tier 2",
        "Notified tier 2 of docs-team",
        f"Task #7 merged into #{task}",
        "Internal note",
    ]
    text = visible_text(timeline)
    assert "submission(s)" not in text and "feedback joined" not in text
    assert "Asked the API team" in text and "· ana" in text and "· automatic" in text


def test_a_refused_fix_link_keeps_what_was_typed_and_says_why_beside_it(
    client, store, published_site
):
    add_user(store, "ana")
    v = published_site.current
    task = add_task(store, version=v, state="in_progress")
    sign_in(client, "ana")
    typed = 'javascript:alert(1)"><b>x'
    refused = post_action(
        client, task, "resolve", fixed_in_version=v, fix_url=typed,
        reason="Fixed the curl example & the <em>422</em> answer",
    )  # fmt: skip
    assert refused.status_code == 422
    html = refused.text
    form = re.search(r'<form[^>]*action="[^"]*/resolve">(.*?)</form>', html, re.S).group(1)
    assert 'value="javascript:alert(1)&#34;&gt;&lt;b&gt;x"' in form
    assert 'aria-invalid="true" aria-describedby="fix-url-error"' in form
    error = re.search(r'<p class="field-error" id="fix-url-error"[^>]*>(.*?)</p>', form, re.S)
    assert "http(s) URL" in error.group(1)
    assert (
        'id="resolve-reason" name="reason" maxlength="500" '
        'value="Fixed the curl example &amp; the &lt;em&gt;422&lt;/em&gt; answer"' in form
    )
    assert re.search(rf'<option value="{re.escape(v)}" selected>', form)
    assert re.search(r"<details open>\s*<summary>Resolve</summary>", html)
    assert "<b>x" not in html
    with store.transaction() as db:
        assert db.get(Task, task).state == "in_progress"
    # A refusal about no field of the form is flashed at the top, as before.
    assert "http(s) URL" not in client.get(f"/dashboard/tasks/{task}").text


def test_an_unknown_name_is_checked_against_a_hash_of_the_current_method():
    """Sign-in checks a password for an unknown name against a written-out hash, so that it
    costs what a real account's check costs: the same method and parameters as a hash made
    now, and a check of it that fails."""
    from werkzeug.security import check_password_hash, generate_password_hash

    from feedback_api.dashboard.auth import DUMMY_HASH

    method = DUMMY_HASH.split("$", 1)[0]
    assert method == generate_password_hash("x").split("$", 1)[0]
    assert check_password_hash(DUMMY_HASH, "not-a-password")
    assert not check_password_hash(DUMMY_HASH, "a guess")
