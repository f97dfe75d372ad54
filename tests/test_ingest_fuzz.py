"""Property-based fuzzing against the served OpenAPI document: whatever arrives, the answer
is never a 5xx, always the one error shape on failure, and a refused request stores nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from feedback_api.wsgi import build
from tests.conftest import count_rows

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture
def client(app):
    """The served application (feedback_api.wsgi), as gunicorn runs it: submissions reach the
    fast path at the WSGI edge (ingest/fast_path.py), other requests Flask."""
    return Client(build(app), response_wrapper=app.response_class)


def request_schema(client) -> dict:
    doc = client.get("/api/v1/openapi.json").json
    return doc["components"]["schemas"]["FeedbackIn"]


def from_property(prop: dict) -> st.SearchStrategy:
    """Values shaped by one property of the served JSON schema (anyOf, type, bounds)."""
    if "anyOf" in prop:
        return st.one_of([from_property(option) for option in prop["anyOf"]])
    kind = prop.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(prop.get("minimum", -5), prop.get("maximum", 5))
    if kind == "array":
        return st.lists(from_property(prop.get("items", {})), max_size=prop.get("maxItems", 8))
    if kind == "string":
        low, high = prop.get("minLength", 0), min(prop.get("maxLength", 80), 80)
        if "pattern" in prop:
            return st.from_regex(prop["pattern"], fullmatch=True).filter(
                lambda s: low <= len(s) <= prop.get("maxLength", 10**6)
            )
        return st.text(min_size=low, max_size=high)
    return JSON


# Real pages and versions often enough that the generator also reaches the store.
KNOWN = {
    "page": st.sampled_from(["", "quickstart/", "reference/api/"]),
    "version": st.sampled_from(["0.1", "latest", "0.0.9"]),
    "rating": st.sampled_from([0, 1]),
}


def from_object_schema(schema: dict) -> st.SearchStrategy:
    required = set(schema.get("required", []))
    props = schema["properties"]
    return st.fixed_dictionaries(
        {name: KNOWN.get(name, st.nothing()) | from_property(props[name]) for name in required},
        optional={name: from_property(p) for name, p in props.items() if name not in required},
    )


def check(client, store_url, response, before: int) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert set(response.json) == {"error"}
        assert {"code", "message"} <= set(response.json["error"])
        assert count_rows(store_url) == before
    else:
        assert count_rows(store_url) in (before, before + 1)


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def test_schema_shaped_bodies_never_fail_the_server(client, store_url):
    schema = request_schema(client)

    @FUZZ
    @given(from_object_schema(schema))
    def run(payload):
        before = count_rows(store_url)
        payload = {**payload, "idempotency_key": uuid.uuid4().hex}
        check(client, store_url, client.post("/api/v1/feedback", json=payload), before)

    run()
    assert count_rows(store_url) > 0, "the generator never produced an acceptable body"


def test_mutated_valid_bodies_never_fail_the_server(client, store_url):
    base = {"page": "quickstart/", "version": "0.1", "rating": 0}

    @FUZZ
    @given(st.sampled_from(sorted(base) + ["comment", "reasons", "selection", "anchor",
                                          "email", "notify", "locale", "extra"]),
           JSON)  # fmt: skip
    def run(field, value):
        before = count_rows(store_url)
        payload = {**base, "idempotency_key": uuid.uuid4().hex, field: value}
        check(client, store_url, client.post("/api/v1/feedback", json=payload), before)

    run()


def test_arbitrary_bytes_never_fail_the_server(client, store_url):
    @FUZZ
    @given(st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()))
    def run(raw):
        before = count_rows(store_url)
        response = client.post("/api/v1/feedback", data=raw, content_type="application/json")
        check(client, store_url, response, before)

    run()


def test_arbitrary_headers_never_fail_the_server(client, store_url):
    body = json.dumps({"page": "quickstart/", "version": "0.1", "rating": 1}).encode()
    latin1 = st.text(st.characters(max_codepoint=255, blacklist_characters="\r\n\0"), max_size=80)

    @FUZZ
    @given(latin1, latin1 | st.none())
    def run(content_type, key):
        before = count_rows(store_url)
        headers = {"Content-Type": content_type}
        if key is not None:
            headers["Idempotency-Key"] = key
        response = client.post("/api/v1/feedback", data=body, headers=headers)
        check(client, store_url, response, before)

    run()
