"""Issue 16, findings 4 and 8: the reviewer API authenticates before it reads anything, and
an id too large to be a row is "not found" or "invalid" in the one error shape, never a 500,
on both stores and in every place an id arrives (URL, JSON body, dashboard form)."""

from __future__ import annotations

import pytest

from tests.review_fixtures import cli, reviewers, send  # noqa: F401  (fixture)
from tests.test_dashboard import add_task, add_user, csrf_of, sign_in

HUGE = ("99999999999999999999999", str(2**63), str(2**31))  # SQLite overflow, PG int4


def _concrete(rule) -> str:
    return rule.rule.replace("<int:task_id>", "1").replace("<name>", "backlog")


def test_every_reviewer_route_answers_401_before_reading_the_request(client, app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("review.")]
    assert len(rules) >= 8
    for rule in rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            # A body that is not JSON, and query arguments that are all wrong: still 401.
            response = client.open(
                _concrete(rule) + "?limit=x&offset=-1&since=yesterday&format=xml&breached=maybe",
                method=method,
                data="{not json",
                content_type="application/json",
            )
            assert response.status_code == 401, (method, rule.rule, response.json)
            assert response.json["error"]["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_assign_without_a_token_is_401_not_422(client):
    response = client.post("/api/v1/tasks/1/assign", json={})
    assert response.status_code == 401
    assert set(response.json) == {"error"}


def test_a_reviewer_is_refused_merging_before_the_body_is_read(client, reviewers):  # noqa: F811
    response = client.post(
        "/api/v1/tasks/1/merge", json={"into": "x"}, headers=reviewers.auth("ana")
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def _error_shape(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert set(response.json) == {"error"}
    assert {"code", "message"} <= set(response.json["error"])


@pytest.mark.parametrize("huge", HUGE)
def test_huge_ids_in_the_api_are_404_or_422_never_500(client, reviewers, huge):  # noqa: F811
    task_id = send(client)["task_id"]
    root = reviewers.auth("root")
    for method, path, body in [
        ("GET", f"/api/v1/tasks/{huge}", None),
        ("POST", f"/api/v1/tasks/{huge}/notes", {"text": "hello"}),
        ("POST", f"/api/v1/tasks/{huge}/assign", {"owner": None}),
        ("POST", f"/api/v1/tasks/{huge}/transitions", {"action": "triage"}),
        ("POST", f"/api/v1/tasks/{huge}/priority", {"priority": "urgent"}),
        ("POST", f"/api/v1/tasks/{huge}/merge", {"into": task_id}),
    ]:
        _error_shape(client.open(path, method=method, json=body, headers=root), 404)
    merge = client.post(f"/api/v1/tasks/{task_id}/merge", json={"into": int(huge)}, headers=root)
    _error_shape(merge, 422)
    assert merge.json["error"]["details"][0]["field"] == "into"
    amend = client.patch(
        f"/api/v1/feedback/{huge}", json={"comment": "x"}, headers={"Authorization": "Bearer x"}
    )
    _error_shape(amend, 404)
    listing = client.get(f"/api/v1/tasks?offset={huge}", headers=root)
    _error_shape(listing, 422)
    digits = client.get("/api/v1/tasks?limit=²", headers=root)  # str.isdigit() says yes
    _error_shape(digits, 422)


@pytest.mark.parametrize("huge", HUGE)
def test_huge_ids_in_the_dashboard_are_themed_pages_never_500(client, app, huge):
    store = app.extensions["store"]
    add_user(store, "ana", role="admin")
    task = add_task(store)
    sign_in(client, "ana")
    token = csrf_of(client.get("/dashboard/").text)

    page = client.get(f"/dashboard/tasks/{huge}")
    assert page.status_code == 404 and "There is no such page or task." in page.text
    assert "dashboard.css" in page.text
    note = client.post(f"/dashboard/tasks/{huge}/note", data={"csrf_token": token, "note": "x"})
    assert note.status_code == 404 and "dashboard.css" in note.text
    for action, form in [
        ("merge", {"into": huge}),
        ("merge", {"into": "²"}),
        ("assign", {"owner_id": huge}),
        ("assign", {"owner_id": "²"}),
    ]:
        answer = client.post(
            f"/dashboard/tasks/{task}/{action}", data={"csrf_token": token, **form}
        )
        assert answer.status_code == 422, (action, form, answer.text[:300])
        assert "dashboard.css" in answer.text
    bulk = client.post(
        "/dashboard/tasks/assign",
        data={
            "csrf_token": token,
            "task_ids": [huge, "²"],
            "owner_id": huge,
            "return_to": "/dashboard/",
        },
    )
    assert bulk.status_code == 303
    bulk = client.post(
        "/dashboard/tasks/assign",
        data={"csrf_token": token, "task_ids": [str(task), huge], "owner_id": "1"},
    )
    assert bulk.status_code == 303
    assert "Assigned 1 task." in client.get("/dashboard/").text


def test_a_reviewer_write_on_a_locked_store_is_503_with_retry_after(
    published_site, sqlite_url, caplog
):
    # Another writer holds the SQLite file past the busy timeout (as a full disk or a lost
    # PostgreSQL would refuse a write): a retryable 503, not a 500 with a traceback.
    import sqlite3

    from tests.test_dashboard import app_with

    app = app_with(published_site, sqlite_url)
    client = app.test_client()
    store = app.extensions["store"]
    add_user(store, "ana")
    task_id = add_task(store)
    token = cli(app, "tokens", "create", "ana").strip()
    sign_in(client, "ana")
    form_token = csrf_of(client.get(f"/dashboard/tasks/{task_id}").text)
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        api = client.post(
            f"/api/v1/tasks/{task_id}/notes",
            json={"text": "while locked"},
            headers={"Authorization": f"Bearer {token}"},
        )
        page = client.post(
            f"/dashboard/tasks/{task_id}/note", data={"note": "x", "csrf_token": form_token}
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert api.status_code == 503 and api.json["error"]["code"] == "store_unavailable"
    assert api.headers["Retry-After"] == "5"
    assert page.status_code == 503 and "Try again in a moment" in page.text
    assert "Traceback" not in caplog.text and "INSERT" not in caplog.text
    store.dispose()
