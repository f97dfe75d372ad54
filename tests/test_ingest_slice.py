"""The foundation's slice of the ingest API, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from tests.conftest import count_rows


def feedback(**overrides):
    body = {
        "page": "quickstart/",
        "version": "0.1",
        "rating": 0,
        "idempotency_key": uuid.uuid4().hex,
    }
    body.update(overrides)
    return body


def test_stores_a_rating(client, store_url):
    response = client.post("/api/v1/feedback", json=feedback())
    assert response.status_code == 201, response.json
    assert response.json["id"] >= 1
    assert response.json["page"] == "quickstart/"
    # A not-helpful rating asks for a person: it lands on a review task (tests/test_review_api.py).
    assert isinstance(response.json["task_id"], int)
    assert count_rows(store_url) == 1


def test_replay_of_same_key_answers_200_and_stores_once(client, store_url):
    body = feedback()
    first = client.post("/api/v1/feedback", json=body)
    second = client.post("/api/v1/feedback", json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json == second.json
    assert count_rows(store_url) == 1


def test_same_key_other_body_is_refused(client, store_url):
    body = feedback()
    client.post("/api/v1/feedback", json=body)
    response = client.post("/api/v1/feedback", json={**body, "rating": 1})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "idempotency_key_reused"
    assert count_rows(store_url) == 1


def test_bad_request_in_the_error_shape(client, store_url):
    response = client.post("/api/v1/feedback", json=feedback(rating=True, status="done"))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_failed"
    assert {d["field"] for d in error["details"]} == {"rating", "status"}
    assert isinstance(error["message"], str) and error["message"]
    assert count_rows(store_url) == 0


def test_every_api_error_is_json(client):
    cases = [
        client.get("/api/v1/nowhere"),
        client.delete("/api/v1/feedback"),
        client.post("/api/v1/feedback", data="page=x", content_type="text/plain"),
        client.post("/api/v1/feedback", data="{not json", content_type="application/json"),
    ]
    assert [r.status_code for r in cases] == [404, 405, 415, 400]
    for response in cases:
        assert response.is_json
        assert set(response.json) == {"error"}
        assert {"code", "message"} <= set(response.json["error"])


def _task(app, task_id: int):
    from feedback_api.store.models import Task

    with app.extensions["store"].transaction() as session:
        task = session.get(Task, task_id)
        return task.category, task.priority, task.priority_rule


def test_an_amend_is_triaged_again_and_a_priority_never_falls_by_itself(app, client):
    first = client.post(
        "/api/v1/feedback", json=feedback(comment="The export lost data on my machine.")
    )
    token = {"Authorization": f"Bearer {first.json['amend_token']}"}
    task_id = first.json["task_id"]
    assert _task(app, task_id)[1] == "urgent"  # signal word "lost data"
    amended = client.patch(
        f"/api/v1/feedback/{first.json['id']}",
        json={"comment": "Never mind, it works.", "reasons": ["hard_to_follow"]},
        headers=token,
    )
    assert amended.status_code == 200, amended.json
    category, priority, rule = _task(app, task_id)
    # The submission opened the task alone: its class follows the completed submission;
    # its priority stays where a rule put it, until a reviewer changes it.
    assert (category, priority) == ("suggestion", "urgent"), rule
    assert "lost data" in rule
