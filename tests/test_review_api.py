"""Feedback becomes tasks, and reviewers work them through the API: SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests import review_fixtures
from tests.review_fixtures import cli, send

reviewers = review_fixtures.reviewers  # the fixture, for this module's tests


def task(client, reviewers, task_id: int, who: str = "ana") -> dict:
    response = client.get(f"/api/v1/tasks/{task_id}", headers=reviewers.auth(who))
    assert response.status_code == 200, response.json
    return response.json


def act(client, reviewers, task_id: int, what: str, body: dict, who: str = "ana"):
    return client.post(f"/api/v1/tasks/{task_id}/{what}", json=body, headers=reviewers.auth(who))


def test_which_feedback_makes_work(client, reviewers):
    assert send(client, rating=0)["task_id"] is not None
    assert send(client, rating=1, page="quickstart/")["task_id"] is None
    assert send(client, rating=1, page="", comment="Lovely, thanks")["task_id"] is not None
    assert send(client, rating=1, page="reference/configuration/",
                selection="TIDEWAY_PORT")["task_id"] is not None  # fmt: skip


def test_feedback_on_a_page_joins_its_open_task(client, reviewers):
    ids = {send(client, reader=f"10.0.0.{n}", reasons=["hard_to_follow"])["task_id"]
           for n in range(3)}  # fmt: skip
    other_version = send(client, version="0.0.9")["task_id"]
    assert len(ids) == 1 and other_version not in ids
    found = task(client, reviewers, ids.pop())
    assert found["task"]["feedback_count"] == 3
    assert found["task"]["reader_count"] == 3
    assert found["task"]["category"] == "suggestion"
    assert [f["reasons"] for f in found["feedback"]] == [["hard_to_follow"]] * 3


def test_five_readers_on_the_quickstart_of_latest_make_it_urgent(client, reviewers):
    for n in range(4):
        task_id = send(client, page="quickstart/", version="latest", reader=f"10.1.0.{n}")[
            "task_id"
        ]
    assert task(client, reviewers, task_id)["task"]["priority"] == "important"
    send(client, page="quickstart/", version="latest", reader="10.1.0.9")
    found = task(client, reviewers, task_id)
    assert found["task"]["priority"] == "urgent"
    assert found["task"]["priority_rule"] == "urgent: 5 readers in 24 h on the quickstart of latest"
    raised = [e for e in found["events"] if e["kind"] == "priority"]
    assert [(e["from_value"], e["to_value"]) for e in raised][-1] == ("important", "urgent")
    due = found["task"]
    # Urgent: 15 minutes to respond, counted from when it became urgent at the latest.
    assert due["first_response_due"] < due["resolution_due"]


def test_signal_words_in_chinese(client, reviewers):
    task_id = send(client, comment="升级以后数据丢失了")["task_id"]
    found = task(client, reviewers, task_id)["task"]
    assert (found["priority"], found["priority_rule"]) == (
        "urgent",
        "urgent: signal word “数据丢失”",
    )


def test_reviewer_routes_need_a_token_and_the_right_role(client, reviewers):
    task_id = send(client)["task_id"]
    other = send(client, page="quickstart/")["task_id"]
    cases = [
        (client.get("/api/v1/tasks"), 401, "unauthorized"),
        (client.get("/api/v1/tasks", headers={"Authorization": "Bearer tdw_nope"}), 401,
         "unauthorized"),
        (client.get(f"/api/v1/tasks/{task_id}"), 401, "unauthorized"),
        (client.post(f"/api/v1/tasks/{task_id}/transitions", json={"action": "triage"}), 401,
         "unauthorized"),
        (client.get("/api/v1/reports/backlog"), 401, "unauthorized"),
        (act(client, reviewers, task_id, "merge", {"into": other}), 403, "forbidden"),
        (act(client, reviewers, task_id, "assign", {"owner": "bo"}), 403, "forbidden"),
    ]  # fmt: skip
    for response, status, code in cases:
        assert response.status_code == status, response.json
        assert set(response.json) == {"error"}
        assert response.json["error"]["code"] == code
    cli(client.application, "tokens", "revoke", "ana")
    assert client.get("/api/v1/tasks", headers=reviewers.auth("ana")).status_code == 401


def test_lifecycle_with_audit(client, reviewers):
    task_id = send(
        client, page="quickstart/", comment="The example is wrong", reasons=["broken_example"]
    )["task_id"]  # a docs-team page: ana's team
    steps = [
        ({"action": "close"}, 409, "illegal_transition"),
        ({"action": "triage", "reason": "looked at it"}, 200, "triaged"),
        ({"action": "start"}, 200, "in_progress"),
        ({"action": "resolve", "fixed_in_version": "0.1"}, 422, "validation_failed"),
        ({"action": "duplicate"}, 422, "validation_failed"),  # only by merging
        ({"action": "resolve", "fixed_in_version": "0.1", "fix_url": "https://git.example/c/1"},
         200, "resolved"),
        ({"action": "start"}, 409, "illegal_transition"),
    ]  # fmt: skip
    for body, status, outcome in steps:
        response = act(client, reviewers, task_id, "transitions", body)
        assert response.status_code == status, (body, response.json)
        if status == 200:
            assert response.json["state"] == outcome
        else:
            assert response.json["error"]["code"] == outcome
    assert (
        act(client, reviewers, task_id, "notes", {"text": "Fixed the snippet"}).status_code == 200
    )
    found = task(client, reviewers, task_id)
    assert found["task"]["fixed_in_version"] == "0.1"
    assert found["task"]["first_responded_at"] is not None
    assert found["task"]["due_at"] is None
    states = [(e["from_value"], e["to_value"], e["actor"]) for e in found["events"]
              if e["kind"] == "state"]  # fmt: skip
    assert states == [
        (None, "new", None),
        ("new", "triaged", "ana"),
        ("triaged", "in_progress", "ana"),
        ("in_progress", "resolved", "ana"),
    ]
    assert found["events"][-1]["kind"] == "note"
    assert found["events"][-1]["reason"] == "Fixed the snippet"
    assert [e["reason"] for e in found["events"] if e["to_value"] == "triaged"] == ["looked at it"]


def test_negative_feedback_in_the_fixed_version_reopens(client, reviewers):
    task_id = send(client, page="")["task_id"]  # the home page: docs-team's, ana's team
    resolve = {"action": "resolve", "fixed_in_version": "0.1", "fix_url": "https://git.example/c/2"}
    assert act(client, reviewers, task_id, "transitions", resolve).status_code == 200
    assert send(client, page="", rating=1, comment="Better now")["task_id"] != task_id
    reopened = send(client, page="", rating=0)["task_id"]
    # The helpful comment opened a new task for the page; the negative rating joined it.
    found = task(client, reviewers, reopened)["task"]
    assert found["previous_task_id"] == task_id


def test_negative_feedback_reopens_a_resolved_task_of_its_version(client, reviewers):
    task_id = send(client, page="quickstart/")["task_id"]
    resolve = {"action": "resolve", "fixed_in_version": "0.1", "fix_url": "https://git.example/c/3"}
    act(client, reviewers, task_id, "transitions", resolve)
    assert send(client, page="quickstart/", reader="10.9.9.9")["task_id"] == task_id
    found = task(client, reviewers, task_id)
    assert found["task"]["state"] == "triaged"
    assert found["task"]["reopened_count"] == 1
    assert found["task"]["feedback_count"] == 2
    # Closed work is never reopened: the next feedback opens a task linked to it.
    for action in ({"action": "resolve", "fixed_in_version": "0.1",
                    "fix_url": "https://git.example/c/4"}, {"action": "close"}):  # fmt: skip
        assert act(client, reviewers, task_id, "transitions", action).status_code == 200
    newer = send(client, page="quickstart/")["task_id"]
    assert newer != task_id
    assert task(client, reviewers, newer)["task"]["previous_task_id"] == task_id


def test_merge_moves_feedback_and_readers(client, reviewers):
    a = send(client, page="quickstart/", reader="10.2.0.1")["task_id"]
    b = send(client, page="reference/api/", reader="10.2.0.2", comment="security hole!")["task_id"]
    response = act(client, reviewers, b, "merge", {"into": a, "reason": "same bug"}, who="root")
    assert response.status_code == 200, response.json
    assert response.json["id"] == a
    assert response.json["feedback_count"] == 2 and response.json["reader_count"] == 2
    assert response.json["priority"] == "urgent"  # the merged task's higher priority
    merged = task(client, reviewers, b)["task"]
    assert (merged["state"], merged["merged_into_id"]) == ("duplicate", a)
    again = act(client, reviewers, b, "merge", {"into": a}, who="root")
    assert again.status_code == 409
    assert act(client, reviewers, a, "merge", {"into": a}, who="root").status_code == 422


def test_assign_and_priority(client, reviewers):
    task_id = send(client, page="quickstart/")["task_id"]
    assert task(client, reviewers, task_id)["task"]["owner"] == "ana"  # tier 1 of docs-team
    assert (
        act(client, reviewers, task_id, "assign", {"owner": "cy"}, who="root").json["owner"] == "cy"
    )
    # A reviewer cannot take a task from its owner; an admin gives it back.
    taken = act(client, reviewers, task_id, "assign", {"owner": "ana", "reason": "mine"})
    assert taken.status_code == 403 and taken.json["error"]["code"] == "forbidden"
    back = act(client, reviewers, task_id, "assign", {"owner": "ana"}, who="root")
    assert back.json["owner"] == "ana"
    assert (
        act(client, reviewers, task_id, "assign", {"owner": "nobody"}, who="root").status_code
        == 422
    )
    raised = act(client, reviewers, task_id, "priority", {"priority": "urgent", "reason": "CEO"})
    assert raised.json["priority"] == "urgent"
    assert raised.json["priority_rule"] == "urgent: set by ana (CEO)"
    events = task(client, reviewers, task_id)["events"]
    owners = [(e["from_value"], e["to_value"], e["actor"]) for e in events if e["kind"] == "owner"]
    assert owners == [(None, "ana", None), ("ana", "cy", "root"), ("cy", "ana", "root")]


def test_queue_filters_sorting_and_pages(client, reviewers):
    pages = ["", "quickstart/", "reference/api/", "reference/configuration/"]
    ids = [send(client, page=page)["task_id"] for page in pages]
    ids.append(send(client, page="quickstart/", version="0.0.9", comment="security")["task_id"])
    headers = reviewers.auth("bo")
    everything = client.get("/api/v1/tasks?sort=due&limit=2", headers=headers).json
    assert everything["total"] == 5 and len(everything["items"]) == 2
    assert everything["items"][0]["id"] == ids[-1]  # urgent: due first
    second = client.get("/api/v1/tasks?sort=due&limit=2&offset=2", headers=headers).json
    assert not {t["id"] for t in second["items"]} & {t["id"] for t in everything["items"]}
    by_version = client.get("/api/v1/tasks?version=0.0.9", headers=headers).json
    assert [t["id"] for t in by_version["items"]] == [ids[-1]]
    by_page = client.get("/api/v1/tasks?page=", headers=headers).json
    assert [t["id"] for t in by_page["items"]] == [ids[0]]
    urgent = client.get("/api/v1/tasks?priority=urgent,important", headers=headers).json
    assert ids[-1] in {t["id"] for t in urgent["items"]}
    assert client.get("/api/v1/tasks?owner=nobody", headers=headers).json["total"] == 0
    # The reference pages' front matter names platform-team; the others are docs-team's.
    assert client.get("/api/v1/tasks?team=docs-team&state=new", headers=headers).json["total"] == 3
    platform = client.get("/api/v1/tasks?team=platform-team", headers=headers).json
    assert {t["owner"] for t in platform["items"]} == {"root"}  # the only one in that team
    assert client.get("/api/v1/tasks?breached=true", headers=headers).json["total"] == 0
    assert client.get("/api/v1/tasks?category=praise", headers=headers).json["total"] == 0
    bad = client.get("/api/v1/tasks?sort=sideways&limit=0", headers=headers)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "validation_failed"


def test_amending_a_helpful_rating_with_a_comment_makes_work(client, reviewers, store_url):
    created = client.post(
        "/api/v1/feedback",
        json={"page": "quickstart/", "version": "0.1", "rating": 1,
              "idempotency_key": "amend-makes-work-0001"},
    ).json  # fmt: skip
    assert created["task_id"] is None
    amended = client.patch(
        f"/api/v1/feedback/{created['id']}",
        json={"comment": "Please add a Windows example"},
        headers={"Authorization": f"Bearer {created['amend_token']}"},
    )
    assert amended.status_code == 200, amended.json
    task_id = amended.json["task_id"]
    assert task_id is not None
    assert task(client, reviewers, task_id)["task"]["category"] == "request"
    engine = create_engine(store_url)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT task_id FROM feedback WHERE id = :id"), {"id": created["id"]}
        ).scalar_one()
    engine.dispose()
    assert stored == task_id


def test_the_reader_address_is_never_shown(client, reviewers):
    task_id = send(client, email="reader@example.com", notify=True)["task_id"]
    found = task(client, reviewers, task_id)
    assert found["feedback"][0]["notify"] is True
    assert "reader@example.com" not in str(found)


def test_users_cli(app, reviewers):
    out = cli(app, "users", "create", "dana", "--email", "d@example.test", "--team", "docs-team",
              "--password-stdin", input="s3cret-passphrase\n")  # fmt: skip
    assert "Created reviewer dana" in out
    assert "dana\treviewer\tdocs-team\ttier 1\tactive" in cli(app, "users", "list")
    assert "dana is now an admin" in cli(app, "users", "set-role", "dana", "admin")
    again = app.test_cli_runner().invoke(
        args=["users", "create", "dana", "--email", "d@example.test", "--team", "x"]
    )
    assert again.exit_code != 0 and "already a user called dana" in again.output
    from werkzeug.security import check_password_hash

    from feedback_api.review.accounts import find_user

    with app.extensions["store"].transaction() as session:
        assert check_password_hash(find_user(session, "dana").password_hash, "s3cret-passphrase")


def test_reviewer_routes_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/tasks", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/transitions",
                 "/api/v1/tasks/{task_id}/assign", "/api/v1/tasks/{task_id}/notes",
                 "/api/v1/tasks/{task_id}/merge", "/api/v1/tasks/{task_id}/priority",
                 "/api/v1/reports/{name}"):  # fmt: skip
        assert path in doc["paths"], path
    assert "TaskOut" in doc["components"]["schemas"]
    assert "reviewerToken" in doc["components"]["securitySchemes"]


def test_finished_tasks_sort_after_open_ones_both_ways(client, reviewers):
    # A finished task has no due time; on SQLite a plain ORDER BY put it first.
    done = send(client, page="quickstart/")["task_id"]
    open_ids = [send(client, page=page)["task_id"] for page in ("", "reference/api/")]
    admin = reviewers.auth("root")
    closed = client.post(
        f"/api/v1/tasks/{done}/transitions", json={"action": "wont_fix"}, headers=admin
    )
    assert closed.status_code == 200, closed.json
    for sort in ("due", "-due", "priority"):
        listed = client.get(f"/api/v1/tasks?sort={sort}", headers=admin).json["items"]
        assert [t["id"] for t in listed][-1] == done, (sort, listed)
        assert {t["id"] for t in listed[:-1]} == set(open_ids)
