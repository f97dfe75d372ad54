"""The API reference is generated from the OpenAPI document; nothing in it may be missing."""

from __future__ import annotations

import html

from feedback_api.http.errors import ERROR_CODES
from feedback_api.openapi import build_openapi


def built_page(published_site) -> str:
    path = published_site.site_dir / published_site.current / "reference/api/index.html"
    return html.unescape(path.read_text())


def test_every_field_path_and_error_code_is_in_the_reference(published_site, client):
    served = client.get("/api/v1/openapi.json").json
    page = built_page(published_site)
    for name, schema in served["components"]["schemas"].items():
        for field in schema.get("properties", {}):
            assert f"<code>{field}</code>" in page, f"{name}.{field} missing from the docs"
    for path, operations in served["paths"].items():
        for method, operation in operations.items():
            assert f"{method.upper()} {path}" in page, f"{method} {path} missing"
            for response in operation["responses"].values():
                for code in response.get("x-error-codes", []):
                    assert f"<code>{code}</code>" in page, f"error code {code} missing"
    for code in ERROR_CODES:
        assert f"<code>{code}</code>" in page


def test_served_document_is_openapi_3_1_built_from_the_models(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    feedback_in = doc["components"]["schemas"]["FeedbackIn"]
    assert feedback_in["additionalProperties"] is False
    assert set(feedback_in["required"]) == {"page", "version", "rating"}
    assert feedback_in["properties"]["rating"]["maximum"] == 1
    assert doc == build_openapi(
        {1: doc["components"]["schemas"]["FeedbackIn"]["x-reason-codes"]["helpful"],
         0: doc["components"]["schemas"]["FeedbackIn"]["x-reason-codes"]["not_helpful"]}
    )  # fmt: skip
