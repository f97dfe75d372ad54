"""A feedback submission, from the client's key and body to the answer: the rules of
`POST /api/v1/feedback`, with no Flask request in sight.

Two edges answer through it: the Flask view (ingest/endpoints.py: the OpenAPI document,
the test client, any unusual request) and the WSGI edge's fast path (ingest/fast_path.py),
which serves the common submission without Flask's per-request machinery.

Order of checks: the client's limit (first: a flood of garbage is refused cheaply too), size
(413, before reading), media type (415), JSON (400), schema (422), the published site (422
unknown_version / unknown_page), the page's limit, then the store. Nothing is stored unless
every check passed, and nothing is acknowledged before its commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from feedback_api.http.body import invalid, validation_error
from feedback_api.http.errors import APIError, store_unavailable
from feedback_api.store.models import Feedback
from feedback_api.store.writer_process import WriterError

from .catalog import CatalogUnavailable
from .schemas import AMEND_WINDOW, FeedbackIn, FeedbackOut


class StoreFailure(Exception):
    """The store did not take the submission (the cause is chained). The edge logs it in its
    request's context, where Flask's log handler writes, and answers store_unavailable()."""


def log_store_failure(app: Flask, failure: StoreFailure) -> None:
    app.logger.warning("Store unavailable while storing feedback", exc_info=failure.__cause__)


def reason_sets(app: Flask) -> dict[int, list[str]]:
    settings = app.config["SETTINGS"]
    return {1: settings.reasons_helpful, 0: settings.reasons_not_helpful}


def amend_token_for(secret: bytes, idempotency_key: str) -> str:
    # Derived, not random: a replay of the POST must answer the same token, and only
    # its SHA-256 is stored. Unguessable without the server secret and the client's key.
    mac = hmac.new(secret, b"amend:" + idempotency_key.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_view(row: Feedback | dict, token: str | None = None) -> FeedbackOut:
    """The stored submission as the reader sees it; the POST's answer adds the token."""
    view = FeedbackOut.model_validate(row, from_attributes=not isinstance(row, dict))
    if token is not None:
        view.amend_token = token
        view.amend_until = view.created_at + AMEND_WINDOW
    return view


def resolve_page(app: Flask, data: FeedbackIn) -> str:
    catalog = app.extensions["catalog"]
    try:
        version = catalog.resolve_version(data.version)
        if version is None:
            raise APIError(422, "unknown_version", f"Version {data.version!r} is not published.")
        if catalog.page(version, data.page) is None:
            raise APIError(
                422,
                "unknown_page",
                f"Version {version} of the site has no page {data.page!r}.",
            )
    except CatalogUnavailable:
        raise APIError(
            503,
            "site_unavailable",
            "The published site cannot be read right now; try again shortly.",
            headers={"Retry-After": "5"},
        ) from None
    return version


def parse_feedback(app: Flask, payload: dict, header_key: str | None) -> FeedbackIn:
    if header_key is not None:
        if payload.get("idempotency_key", header_key) != header_key:
            raise invalid("The Idempotency-Key header and the idempotency_key field differ.")
        payload = {**payload, "idempotency_key": header_key}
    try:
        data = FeedbackIn.model_validate(payload, context={"reasons": reason_sets(app)})
    except ValidationError as exc:
        raise validation_error(exc) from None
    if data.idempotency_key is None:
        raise invalid("An idempotency key is required.", "idempotency_key", "Field required")
    return data


def submission_row(app: Flask, data: FeedbackIn, version: str, client: str) -> tuple[dict, str]:
    """The row a valid submission stores, and the amend token its answer carries."""
    body = data.model_dump(exclude={"idempotency_key"})
    body["version"] = version
    # A replay must send the same body: its canonical form's hash is stored and compared.
    request_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    token = amend_token_for(app.config["SECRET"], data.idempotency_key)
    row = {
        "page": data.page,
        "version": version,
        "rating": data.rating,
        **data.stored_details(),
        "client_hash": client,
        "amend_token_hash": token_hash(token),
        "idempotency_key": data.idempotency_key,
        "request_hash": request_hash,
        "created_at": datetime.now(UTC),
        "amended_at": None,
    }
    return row, token


def submit_feedback(
    app: Flask, client: str, read_payload: Callable[[], dict], header_key: str | None
) -> tuple[int, bytes]:
    """Store one submission: (201 or 200, the answer's JSON), or APIError, or StoreFailure.

    `client` is the client's keyed hash (body.client_hash_of); `read_payload` gives the body
    as a JSON object (body.json_object), called after the client's limit, so that a refused
    client's body is never read; `header_key` is the Idempotency-Key header, if any.
    """
    limits = app.extensions["ingest_limits"]
    limits.check_client(client)
    data = parse_feedback(app, read_payload(), header_key)
    version = resolve_page(app, data)
    limits.check_page(version, data.page)
    row, token = submission_row(app, data, version, client)
    try:
        stored = app.extensions["writer"].insert(row)
    except (SQLAlchemyError, TimeoutError, WriterError) as exc:
        raise StoreFailure() from exc
    if stored is not None:
        row["id"], row["task_id"] = stored
        app.extensions["metrics"].stored.inc()
        # Serialised by pydantic-core straight to bytes: half the CPU of model_dump + jsonify.
        return 201, public_view(row, token).model_dump_json().encode()

    # The key exists: a replay (same body: same answer) or a reuse (another body: refused).
    try:
        with app.extensions["store"].transaction() as session:
            existing = session.scalars(
                select(Feedback).where(Feedback.idempotency_key == data.idempotency_key)
            ).one()
    except SQLAlchemyError:
        raise store_unavailable() from None
    if existing.request_hash != row["request_hash"]:
        raise APIError(
            422,
            "idempotency_key_reused",
            "This idempotency key was already used for a different submission.",
        )
    return 200, public_view(existing, token).model_dump_json().encode()
