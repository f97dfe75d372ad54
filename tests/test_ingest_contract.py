"""The public feedback contract, table-driven, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import count_rows


def body(**overrides):
    data = {
        "page": "quickstart/",
        "version": "0.1",
        "rating": 0,
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def fetch_row(url: str, feedback_id: int) -> dict:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT * FROM feedback WHERE id = :id"), {"id": feedback_id}
            ).mappings()
            return dict(row.one())
    finally:
        engine.dispose()


LONG = "x" * 2001
# (name, request kwargs for client.post, status, code, field named in details or None)
BAD_INPUTS = [
    ("form encoded", {"data": "page=x", "content_type": "application/x-www-form-urlencoded"},
     415, "unsupported_media_type", None),
    ("no content type", {"data": json.dumps(body())}, 415, "unsupported_media_type", None),
    ("text plain", {"data": json.dumps(body()), "content_type": "text/plain"},
     415, "unsupported_media_type", None),
    ("broken json", {"data": '{"page": ', "content_type": "application/json"},
     400, "invalid_json", None),
    ("empty body", {"data": "", "content_type": "application/json"}, 400, "invalid_json", None),
    ("deeply nested", {"data": "[" * 5000 + "]" * 5000, "content_type": "application/json"},
     400, "invalid_json", None),
    ("nested in field", {"json": body(comment=json.loads("[" * 50 + "]" * 50))},
     422, "validation_failed", "comment"),
    ("json array", {"json": [body()]}, 422, "validation_failed", None),
    ("json string", {"json": "hello"}, 422, "validation_failed", None),
    ("json null", {"json": None, "data": "null", "content_type": "application/json"},
     422, "validation_failed", None),
    ("over 16 KiB", {"json": body(comment="y" * 17000)}, 413, "payload_too_large", None),
    ("missing page", {"json": body(page=...)}, 422, "validation_failed", "page"),
    ("missing version", {"json": body(version=...)}, 422, "validation_failed", "version"),
    ("missing rating", {"json": body(rating=...)}, 422, "validation_failed", "rating"),
    ("missing key", {"json": body(idempotency_key=...)}, 422, "validation_failed",
     "idempotency_key"),
    ("rating true", {"json": body(rating=True)}, 422, "validation_failed", "rating"),
    ("rating false", {"json": body(rating=False)}, 422, "validation_failed", "rating"),
    ("rating string", {"json": body(rating="1")}, 422, "validation_failed", "rating"),
    ("rating float", {"json": body(rating=1.0)}, 422, "validation_failed", "rating"),
    ("rating null", {"json": body(rating=None)}, 422, "validation_failed", "rating"),
    ("rating 2", {"json": body(rating=2)}, 422, "validation_failed", "rating"),
    ("rating -1", {"json": body(rating=-1)}, 422, "validation_failed", "rating"),
    ("unknown field id", {"json": body(id=5)}, 422, "validation_failed", "id"),
    ("unknown field status", {"json": body(status="resolved")}, 422, "validation_failed",
     "status"),
    ("unknown field task_id", {"json": body(task_id=1)}, 422, "validation_failed", "task_id"),
    ("page traversal", {"json": body(page="../../etc/passwd")}, 422, "validation_failed",
     "page"),
    ("page scheme", {"json": body(page="javascript:alert(1)")}, 422, "validation_failed",
     "page"),
    ("page absolute url", {"json": body(page="https://evil.example/")}, 422,
     "validation_failed", "page"),
    ("page leading slash", {"json": body(page="/quickstart/")}, 422, "validation_failed",
     "page"),
    ("page control char", {"json": body(page="quick\x00start/")}, 422, "validation_failed",
     "page"),
    ("page not a string", {"json": body(page=["quickstart/"])}, 422, "validation_failed",
     "page"),
    ("unknown page", {"json": body(page="no-such-page/")}, 422, "unknown_page", None),
    ("unknown version", {"json": body(version="9.9")}, 422, "unknown_version", None),
    ("version with slash", {"json": body(version="0.1/../x")}, 422, "validation_failed",
     "version"),
    ("key too short", {"json": body(idempotency_key="short")}, 422, "validation_failed",
     "idempotency_key"),
    ("key bad chars", {"json": body(idempotency_key="a" * 20 + " ;drop")}, 422,
     "validation_failed", "idempotency_key"),
    ("key too long", {"json": body(idempotency_key="k" * 101)}, 422, "validation_failed",
     "idempotency_key"),
    ("comment too long", {"json": body(comment=LONG)}, 422, "validation_failed", "comment"),
    ("comment NUL", {"json": body(comment="bad\x00byte")}, 422, "validation_failed", "comment"),
    ("comment escape char", {"json": body(comment="bell\x07")}, 422, "validation_failed",
     "comment"),
    ("comment C1 control", {"json": body(comment="next\x85line")}, 422, "validation_failed",
     "comment"),
    ("selection too long", {"json": body(selection="s" * 501)}, 422, "validation_failed",
     "selection"),
    ("anchor without selection", {"json": body(anchor="install")}, 422, "validation_failed",
     None),
    ("anchor with space", {"json": body(selection="x", anchor="a b")}, 422,
     "validation_failed", "anchor"),
    ("reason unknown", {"json": body(reasons=["because"])}, 422, "validation_failed", None),
    ("reason of the other rating", {"json": body(rating=0, reasons=["accurate"])}, 422,
     "validation_failed", None),
    ("reasons repeated", {"json": body(reasons=["inaccurate", "inaccurate"])}, 422,
     "validation_failed", None),
    ("reasons too many", {"json": body(reasons=["inaccurate", "broken_example",
     "hard_to_follow", "missing_information", "outdated", "other", "other"])}, 422,
     "validation_failed", "reasons"),
    ("reasons not a list", {"json": body(reasons="inaccurate")}, 422, "validation_failed",
     "reasons"),
    ("email bad", {"json": body(email="not-an-address", notify=True)}, 422,
     "validation_failed", "email"),
    ("email header injection", {"json": body(email="a@example.com\r\nBcc: x@evil.test",
     notify=True)}, 422, "validation_failed", "email"),
    ("notify without email", {"json": body(notify=True)}, 422, "validation_failed", None),
    ("notify not bool", {"json": body(email="a@example.com", notify="yes")}, 422,
     "validation_failed", "notify"),
    ("locale bad", {"json": body(locale="english please")}, 422, "validation_failed",
     "locale"),
    ("key header and body differ", {"json": body(), "headers": {"Idempotency-Key":
     "h" * 20}}, 422, "validation_failed", None),
]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs,status,code,field", [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_refused_and_stores_nothing(client, store_url, kwargs, status, code, field):
    response = client.post("/api/v1/feedback", **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"] and isinstance(error["message"], str)
    assert "Traceback" not in response.get_data(as_text=True)
    if field:
        assert field in {d["field"] for d in error["details"]}
    assert count_rows(store_url) == 0


def test_at_least_thirty_classes_of_bad_input():
    assert len(BAD_INPUTS) >= 30


def test_full_submission_is_stored_with_consent(client, store_url):
    response = client.post(
        "/api/v1/feedback",
        json=body(
            rating=0,
            reasons=["inaccurate", "broken_example"],
            comment="  The curl example\r\nfails with 415.  ",
            selection="curl -s -X POST",
            anchor="send-a-rating-by-hand",
            email="Reader@Example.com",
            notify=True,
            locale="zh-Hans",
        ),
    )
    assert response.status_code == 201, response.json
    view = response.json
    assert set(view) >= {"id", "created_at", "task_id", "amend_token"}
    row = fetch_row(store_url, view["id"])
    assert row["comment"] == "The curl example\nfails with 415."
    assert row["email"] == "Reader@example.com"  # domain normalised by email-validator
    assert row["notify"] in (True, 1)
    assert row["locale"] == "zh-Hans"
    assert row["amend_token_hash"] != view["amend_token"]  # only its hash is stored
    assert len(row["client_hash"]) == 32 and "127.0.0.1" not in row["client_hash"]


def test_email_without_consent_is_not_kept(client, store_url):
    response = client.post("/api/v1/feedback", json=body(email="reader@example.com", notify=False))
    assert response.status_code == 201
    assert fetch_row(store_url, response.json["id"])["email"] is None


def test_alias_is_stored_as_the_version_name(client, store_url, published_site):
    response = client.post("/api/v1/feedback", json=body(version="latest"))
    assert response.status_code == 201
    assert response.json["version"] == published_site.current


def test_older_version_has_its_own_pages(client, published_site):
    response = client.post("/api/v1/feedback", json=body(version=published_site.older, page=""))
    assert response.status_code == 201


def test_idempotency_key_header_is_accepted(client, store_url):
    data = body(idempotency_key=...)
    key = uuid.uuid4().hex
    first = client.post("/api/v1/feedback", json=data, headers={"Idempotency-Key": key})
    again = client.post("/api/v1/feedback", json={**data, "idempotency_key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json == again.json
    assert count_rows(store_url) == 1


def test_amend_adds_details_to_the_same_row(client, store_url):
    created = client.post("/api/v1/feedback", json=body(rating=1)).json
    auth = {"Authorization": f"Bearer {created['amend_token']}"}
    response = client.patch(
        f"/api/v1/feedback/{created['id']}",
        json={"reasons": ["easy_to_understand"], "comment": "Clear.", "email": "r@example.com",
              "notify": True},
        headers=auth,
    )  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["reasons"] == ["easy_to_understand"]
    assert "amend_token" not in response.json or response.json["amend_token"] is None
    row = fetch_row(store_url, created["id"])
    assert (row["comment"], row["email"]) == ("Clear.", "r@example.com")
    assert count_rows(store_url) == 1


def test_amend_refuses_wrong_token_unknown_id_and_bad_fields(client, store_url):
    created = client.post("/api/v1/feedback", json=body(rating=0)).json
    url = f"/api/v1/feedback/{created['id']}"
    good = {"Authorization": f"Bearer {created['amend_token']}"}
    cases = [
        (client.patch(url, json={"comment": "x"}), 401, "unauthorized"),
        (client.patch(url, json={"comment": "x"}, headers={"Authorization": "Bearer nope"}),
         403, "forbidden"),
        (client.patch("/api/v1/feedback/999999", json={"comment": "x"}, headers=good),
         404, "not_found"),
        (client.patch(url, json={"rating": 1}, headers=good), 422, "validation_failed"),
        (client.patch(url, json={"reasons": ["accurate"]}, headers=good), 422,
         "validation_failed"),
        (client.patch(url, json={}, headers=good), 422, "validation_failed"),
        (client.patch(url, json={"comment": "\x00"}, headers=good), 422, "validation_failed"),
    ]  # fmt: skip
    for response, status, code in cases:
        assert (response.status_code, response.json["error"]["code"]) == (status, code)
    assert fetch_row(store_url, created["id"])["comment"] is None


def test_amend_window_closes_after_thirty_minutes(client, store_url):
    created = client.post("/api/v1/feedback", json=body()).json
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE feedback SET created_at = :t WHERE id = :id"),
            {"t": datetime.now(UTC) - timedelta(minutes=31), "id": created["id"]},
        )
    engine.dispose()
    response = client.patch(
        f"/api/v1/feedback/{created['id']}",
        json={"comment": "late"},
        headers={"Authorization": f"Bearer {created['amend_token']}"},
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "amend_window_closed"
    assert fetch_row(store_url, created["id"])["comment"] is None


def test_health_ready_and_metrics(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}
    client.post("/api/v1/feedback", json=body())
    client.post("/api/v1/feedback", json=body(rating="x"))
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "tideway_feedback_stored_total 1.0" in metrics
    assert 'tideway_feedback_rejected_total{code="validation_failed"} 1.0' in metrics
    assert 'route="/api/v1/feedback",status="201"' in metrics
    assert "tideway_http_request_duration_seconds_bucket" in metrics


def test_readyz_is_not_ready_when_the_store_s_disk_is_nearly_full(published_site, sqlite_url):
    # Every write would fail there: a load balancer should send the traffic elsewhere.
    import shutil
    from pathlib import Path

    from tests.test_dashboard import app_with

    folder = Path(sqlite_url.removeprefix("sqlite:///")).parent
    free_mb = shutil.disk_usage(folder).free // 2**20
    roomy = app_with(published_site, sqlite_url, min_free_disk_mb=max(free_mb - 1024, 0))
    assert roomy.test_client().get("/readyz").status_code == 200
    full = app_with(published_site, sqlite_url, min_free_disk_mb=free_mb + 1024)
    answer = full.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.json["error"]["code"] == "store_unavailable"
    assert "MB free" in answer.json["error"]["message"] and "Retry-After" in answer.headers
    for app in (roomy, full):
        app.extensions["store"].dispose()
