"""The public feedback endpoints: the one part of the product strangers can reach.

A submission's rules live in submit.py, shared with the WSGI edge's fast path
(fast_path.py), which serves most submissions without these views; this one still serves
the rest (the test client, unusual requests) and documents the endpoint.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, request
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from feedback_api.http.body import bearer_token, read_json_object, validation_error
from feedback_api.http.errors import APIError, store_unavailable
from feedback_api.http.limits import client_key, ingest_limits
from feedback_api.store.models import Feedback

from .schemas import AMEND_WINDOW, FeedbackAmend, FeedbackIn, FeedbackOut
from .submit import (
    StoreFailure,
    log_store_failure,
    public_view,
    reason_sets,
    submit_feedback,
    token_hash,
)

bp = Blueprint("ingest", __name__, url_prefix="/api/v1")


def answer(view: FeedbackOut, status: int) -> Response:
    # Serialised by pydantic-core straight to bytes: half the CPU of model_dump + jsonify.
    return current_app.response_class(view.model_dump_json(), status, mimetype="application/json")


@bp.post("/feedback")
def create_feedback():
    app = current_app._get_current_object()
    try:
        status, body = submit_feedback(
            app, client_key(), read_json_object, request.headers.get("Idempotency-Key")
        )
    except StoreFailure as failure:
        log_store_failure(app, failure)
        raise store_unavailable() from None
    return app.response_class(body, status, mimetype="application/json")


@bp.patch("/feedback/<int:feedback_id>")
def amend_feedback(feedback_id: int):
    ingest_limits().check_amend(client_key())  # first, as for a submission
    token = bearer_token()
    if not token:
        raise APIError(401, "unauthorized", "Send the amend token as `Authorization: Bearer`.")
    presented = token_hash(token)
    try:
        changes = FeedbackAmend.model_validate(read_json_object())
    except ValidationError as exc:
        raise validation_error(exc) from None

    store = current_app.extensions["store"]
    try:
        with store.transaction() as session:
            row = session.get(Feedback, feedback_id, with_for_update=True)
            if row is None:
                raise APIError(404, "not_found", "There is no such submission.")
            if not row.amend_token_hash or not hmac.compare_digest(row.amend_token_hash, presented):
                raise APIError(403, "forbidden", "This token does not allow changing it.")
            if datetime.now(UTC) - row.created_at > AMEND_WINDOW:
                minutes = int(AMEND_WINDOW.total_seconds() // 60)
                raise APIError(
                    403,
                    "amend_window_closed",
                    f"A submission can be completed only within {minutes} minutes.",
                )
            try:
                amended = changes.applied_to(_as_submitted(row), reason_sets(current_app))
            except ValidationError as exc:
                raise validation_error(exc) from None
            for name, value in amended.stored_details().items():
                setattr(row, name, value)
            row.amended_at = datetime.now(UTC)
            session.flush()
            _attach_to_task(session, row)
            view = public_view(row)
    except SQLAlchemyError:
        raise store_unavailable() from None
    return answer(view, 200)


def _as_submitted(row: Feedback) -> FeedbackIn:
    # Stored values passed these rules when they came; reasons are not checked again, since
    # a reason set may have changed since (FeedbackAmend.applied_to checks new ones).
    return FeedbackIn.model_construct(
        page=row.page,
        version=row.version,
        rating=row.rating,
        **{name: getattr(row, name) for name in FeedbackAmend.model_fields},
    )


def _attach_to_task(session, row: Feedback) -> None:
    # Review work: a helpful rating that gained a comment or passage now asks for a person,
    # and an address given with consent now gets its acknowledgement (same transaction).
    values = {c.key: getattr(row, c.key) for c in Feedback.__table__.columns}
    review = current_app.extensions["review"]
    row.task_id = review.attach_amended(session.connection(), values)
