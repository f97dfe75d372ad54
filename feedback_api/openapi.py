"""The OpenAPI 3.1 document, generated from the models that validate the input.

Served at /api/v1/openapi.json and rendered into the API reference page at docs build
time (`render_markdown`), so the docs cannot drift from what the API enforces.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic.json_schema import models_json_schema

from .config import DEFAULT_REASONS_HELPFUL, DEFAULT_REASONS_NOT_HELPFUL
from .http.body import MAX_BODY
from .http.errors import ERROR_CODES
from .ingest.schemas import (
    AMEND_WINDOW,
    COMMENT_MAX,
    REASONS_MAX,
    SELECTION_MAX,
    ErrorResponse,
    FeedbackAmend,
    FeedbackIn,
    FeedbackOut,
)
from .review.openapi import MODEL_NAMES as REVIEW_MODELS
from .review.openapi import (
    REQUEST_MODELS,
    RESPONSE_MODELS,
    SECURITY_SCHEME,
    review_paths,
)

REF = "#/components/schemas/{model}"
AMEND_MINUTES = int(AMEND_WINDOW.total_seconds() // 60)


def _errors(*codes: str) -> dict[str, Any]:
    """Responses for error codes, grouped by status, each listing its codes."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    return {
        str(status): {
            "description": "; ".join(f"`{c}`: {ERROR_CODES[c][1]}" for c in group),
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}
            },
            "x-error-codes": group,
        }
        for status, group in sorted(by_status.items())
    }


def _json_body(model: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
    }


def _json(model: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
    }


COMMON = (
    "payload_too_large",
    "unsupported_media_type",
    "invalid_json",
    "validation_failed",
    "internal_error",
    "store_unavailable",
)


def build_openapi(reasons: dict[int, list[str]] | None = None) -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(m, "validation") for m in (FeedbackIn, FeedbackAmend, *REQUEST_MODELS)]
        + [(m, "serialization") for m in (FeedbackOut, ErrorResponse, *RESPONSE_MODELS)],
        ref_template=REF,
    )
    components = schemas.get("$defs", {})
    reasons = reasons or {1: list(DEFAULT_REASONS_HELPFUL), 0: list(DEFAULT_REASONS_NOT_HELPFUL)}
    components["FeedbackIn"]["x-reason-codes"] = {"helpful": reasons[1], "not_helpful": reasons[0]}
    try:
        app_version = version("tideway-docs")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        app_version = "0"
    key_header = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {
            "type": "string",
            "minLength": 16,
            "maxLength": 100,
            "pattern": "^[A-Za-z0-9_-]+$",
        },
        "description": "May replace the `idempotency_key` field (they must agree if both).",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tideway Docs feedback API",
            "version": app_version,
            "description": "Readers' answers to *Was this page helpful?*. Every error has the "
            "shape of `ErrorResponse`.",
        },
        "x-limits": {
            "max_body_bytes": MAX_BODY,
            "amend_window_minutes": AMEND_MINUTES,
            "comment_max_chars": COMMENT_MAX,
            "selection_max_chars": SELECTION_MAX,
            "reasons_max": REASONS_MAX,
        },
        "paths": {
            "/api/v1/feedback": {
                "post": {
                    "operationId": "createFeedback",
                    "summary": "Store a reader's rating (and any details).",
                    "parameters": [key_header],
                    "requestBody": _json_body("FeedbackIn"),
                    "responses": {
                        "201": _json("FeedbackOut", "Stored. The answer carries `amend_token`."),
                        "200": _json(
                            "FeedbackOut",
                            "A replay of an idempotency key with the same body: the stored "
                            "submission, nothing new stored.",
                        ),
                        **_errors(
                            *COMMON,
                            "unknown_version",
                            "unknown_page",
                            "idempotency_key_reused",
                            "rate_limited",
                            "site_unavailable",
                        ),
                    },
                }
            },
            "/api/v1/feedback/{feedback_id}": {
                "patch": {
                    "operationId": "amendFeedback",
                    "summary": f"Add details to a rating within {AMEND_MINUTES} minutes of storing "
                    "it.",
                    "security": [{"amendToken": []}],
                    "parameters": [
                        {
                            "name": "feedback_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                    ],
                    "requestBody": _json_body("FeedbackAmend"),
                    "responses": {
                        "200": _json("FeedbackOut", "Amended; the same submission."),
                        **_errors(
                            *COMMON, "unauthorized", "forbidden", "amend_window_closed", "not_found"
                        ),
                    },
                }
            },
            **review_paths(_errors, _json_body, _json),
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "summary": "The process is alive.",
                    "responses": {"200": {"description": '`{"status": "ok"}`'}},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readyz",
                    "summary": "The store is reachable and the site's manifests are readable.",
                    "responses": {
                        "200": {"description": '`{"status": "ready"}`'},
                        **_errors("store_unavailable", "site_unavailable"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics.",
                    "responses": {"200": {"description": "Prometheus text format."}},
                }
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "amendToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The `amend_token` from the POST's answer.",
                },
                **SECURITY_SCHEME,
            },
        },
    }


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type_of(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if "enum" in schema:
        return " or ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    return str(schema.get("type", "any"))


def _rules(schema: dict[str, Any]) -> str:
    parts = []
    options = schema.get("anyOf", [schema])
    for option in options:
        for key, label in (
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("minimum", "min"),
            ("maximum", "max"),
            ("maxItems", "max items"),
            ("pattern", "pattern"),
        ):
            if key in option:
                parts.append(f"{label} `{option[key]}`")
    return ", ".join(parts)


def render_markdown(doc: dict[str, Any] | None = None) -> str:
    """The API reference as Markdown: endpoints, fields of every model, error codes."""
    doc = doc or build_openapi()
    schemas = doc["components"]["schemas"]
    out: list[str] = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            out.append(f"### `{method.upper()} {path}`\n\n{op['summary']}\n")
            query = [p for p in op.get("parameters", []) if p["in"] == "query"]
            if query:
                rows = ["| Query parameter | Type | Meaning |", "|---|---|---|"]
                for param in query:
                    kind = _type_of(param["schema"])
                    rows.append(f"| `{param['name']}` | {kind} | {param['description']} |")
                out.append("\n".join(rows) + "\n")
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                out.append(f"Body: `{ref.rsplit('/', 1)[-1]}` (`application/json`).\n")
            rows = ["| Status | Meaning |", "|---|---|"]
            for status, response in op["responses"].items():
                rows.append(f"| {status} | {response['description']} |")
            out.append("\n".join(rows) + "\n")
    for name in (
        "FeedbackIn",
        "FeedbackAmend",
        "FeedbackOut",
        "ErrorResponse",
        "ErrorBody",
        "ErrorDetail",
        *REVIEW_MODELS,
    ):
        schema = schemas[name]
        required = set(schema.get("required", []))
        out.append(f"### `{name}`\n\n{schema.get('description', '').strip()}\n")
        rows = ["| Field | Type | Required | Rules | Meaning |", "|---|---|---|---|---|"]
        for field, prop in schema.get("properties", {}).items():
            meaning = (prop.get("description") or "").replace("\n", " ")
            rows.append(
                f"| `{field}` | {_type_of(prop)} | {'yes' if field in required else 'no'} | "
                f"{_rules(prop)} | {meaning} |"
            )
        out.append("\n".join(rows) + "\n")
    codes = doc["components"]["schemas"]["FeedbackIn"].get("x-reason-codes", {})
    if codes:
        out.append("### Reason codes\n")
        out.append("| Rating | Codes |\n|---|---|")
        out.append(f"| helpful (`1`) | {', '.join(f'`{c}`' for c in codes['helpful'])} |")
        out.append(f"| not helpful (`0`) | {', '.join(f'`{c}`' for c in codes['not_helpful'])} |\n")
    out.append("### Error codes\n")
    rows = ["| Status | `code` | When |", "|---|---|---|"]
    for code, (status, when) in ERROR_CODES.items():
        rows.append(f"| {status} | `{code}` | {when} |")
    out.append("\n".join(rows) + "\n")
    limits = doc["x-limits"]
    out.append("### Limits\n")
    out.append("| Limit | Value |\n|---|---|")
    for key, value in limits.items():
        out.append(f"| `{key}` | {value} |")
    return "\n".join(out) + "\n"
