"""The public feedback endpoints: the one part of the product strangers can reach.

Order of checks: size (413, before reading), media type (415), JSON (400), schema (422),
the published site (422 unknown_version / unknown_page), then the store. Nothing is
stored unless every check passed, and nothing is acknowledged before its commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from feedback_api.http.body import bearer_token, invalid, read_json_object, validation_error
from feedback_api.http.errors import APIError, store_unavailable
from feedback_api.http.limits import client_key, ingest_limits
from feedback_api.store.models import Feedback
from feedback_api.store.writer_process import WriterError

from .catalog import CatalogUnavailable
from .schemas import AMEND_WINDOW, FeedbackAmend, FeedbackIn, FeedbackOut

bp = Blueprint("ingest", __name__, url_prefix="/api/v1")


def reason_sets() -> dict[int, list[str]]:
    settings = current_app.config["SETTINGS"]
    return {1: settings.reasons_helpful, 0: settings.reasons_not_helpful}


def _secret() -> bytes:
    return current_app.config["SECRET"]


def amend_token_for(idempotency_key: str) -> str:
    # Derived, not random: a replay of the POST must answer the same token, and only
    # its SHA-256 is stored. Unguessable without the server secret and the client's key.
    mac = hmac.new(_secret(), b"amend:" + idempotency_key.encode(), hashlib.sha256).digest()
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


def answer(view: FeedbackOut, status: int) -> Response:
    # Serialised by pydantic-core straight to bytes: half the CPU of model_dump + jsonify.
    return current_app.response_class(view.model_dump_json(), status, mimetype="application/json")


def resolve_page(data: FeedbackIn) -> str:
    catalog = current_app.extensions["catalog"]
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


def parse_feedback() -> FeedbackIn:
    """The POST's body as a valid submission; raises the 4xx APIError otherwise."""
    payload = read_json_object()
    header_key = request.headers.get("Idempotency-Key")
    if header_key is not None:
        if payload.get("idempotency_key", header_key) != header_key:
            raise invalid("The Idempotency-Key header and the idempotency_key field differ.")
        payload = {**payload, "idempotency_key": header_key}
    try:
        data = FeedbackIn.model_validate(payload, context={"reasons": reason_sets()})
    except ValidationError as exc:
        raise validation_error(exc) from None
    if data.idempotency_key is None:
        raise invalid("An idempotency key is required.", "idempotency_key", "Field required")
    return data


def submission_row(data: FeedbackIn, version: str, client: str) -> tuple[dict, str]:
    """The row a valid submission stores, and the amend token its answer carries."""
    body = data.model_dump(exclude={"idempotency_key"})
    body["version"] = version
    # A replay must send the same body: its canonical form's hash is stored and compared.
    request_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    token = amend_token_for(data.idempotency_key)
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


@bp.post("/feedback")
def create_feedback():
    limits = ingest_limits()
    client = client_key()  # a keyed hash: computed once
    limits.check_client(client)  # first: a flood of garbage is refused cheaply too
    data = parse_feedback()
    version = resolve_page(data)
    limits.check_page(version, data.page)
    row, token = submission_row(data, version, client)
    try:
        stored = current_app.extensions["writer"].insert(row)
    except (SQLAlchemyError, TimeoutError, WriterError):
        current_app.logger.warning("Store unavailable while storing feedback", exc_info=True)
        raise store_unavailable() from None
    metrics = current_app.extensions["metrics"]
    if stored is not None:
        row["id"], row["task_id"] = stored
        metrics.stored.inc()
        return answer(public_view(row, token), 201)

    # The key exists: a replay (same body: same answer) or a reuse (another body: refused).
    try:
        with current_app.extensions["store"].transaction() as session:
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
    return answer(public_view(existing, token), 200)


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
                amended = changes.applied_to(_as_submitted(row), reason_sets())
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
