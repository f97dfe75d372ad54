"""The public feedback endpoints."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from .errors import APIError
from .schemas import FeedbackIn, FeedbackOut
from .store.models import Feedback

bp = Blueprint("ingest", __name__, url_prefix="/api/v1")


def read_json_body() -> object:
    if request.mimetype != "application/json":
        raise APIError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):
        raise APIError(400, "invalid_json", "The body is not valid JSON.") from None


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]}
        for err in exc.errors(include_url=False)
    ]


def public_view(row: Feedback) -> dict:
    return FeedbackOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@bp.post("/feedback")
def create_feedback():
    payload = read_json_body()
    if not isinstance(payload, dict):
        raise APIError(422, "validation_failed", "The body must be a JSON object.")
    try:
        data = FeedbackIn.model_validate(payload)
    except ValidationError as exc:
        raise APIError(
            422, "validation_failed", "Some fields are not valid.", validation_details(exc)
        ) from None

    body = data.model_dump(exclude={"idempotency_key"})
    request_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    store = current_app.extensions["store"]
    row = Feedback(
        **body,
        idempotency_key=data.idempotency_key,
        request_hash=request_hash,
        created_at=datetime.now(UTC),
    )
    try:
        with store.transaction() as session:
            session.add(row)
        return jsonify(public_view(row)), 201
    except IntegrityError:
        pass  # the key exists: a replay, or a reuse with another body
    except OperationalError:
        raise APIError(
            503,
            "store_unavailable",
            "The feedback store is unavailable; try again shortly.",
            headers={"Retry-After": "5"},
        ) from None

    with store.transaction() as session:
        existing = session.scalars(
            select(Feedback).where(Feedback.idempotency_key == data.idempotency_key)
        ).one()
    if existing.request_hash != request_hash:
        raise APIError(
            422,
            "idempotency_key_reused",
            "This idempotency key was already used for a different submission.",
        )
    return jsonify(public_view(existing)), 200
