"""The API learns which versions and pages exist from the published site: beside it (a
directory) or from another machine (a URL), and sees a new version without a restart."""

from __future__ import annotations

import re
import uuid

import pytest

from feedback_api import create_app
from tests.conftest import TEST_SECRET, make_docs_repo
from tideway_site import publish


def rating(version: str, page: str = "quickstart/") -> dict:
    return {"page": page, "version": version, "rating": 1, "idempotency_key": uuid.uuid4().hex}


@pytest.mark.slow
def test_a_version_published_while_running_is_accepted(tmp_path, sqlite_url):
    repo = make_docs_repo(tmp_path / "repo")
    publish.publish_all(repo, branch="tideway-site", log=lambda _m: None)
    site = tmp_path / "site"
    publish.export(repo, "tideway-site", site)
    app = create_app({"database_url": sqlite_url, "site_dir": site, "secret_key": TEST_SECRET})
    app.extensions["catalog"].ttl = 0.0  # the default re-reads every few seconds
    client = app.test_client()
    assert client.post("/api/v1/feedback", json=rating("0.2")).json["error"]["code"] == (
        "unknown_version"
    )

    pyproject = repo / "pyproject.toml"
    pyproject.write_text(re.sub(r'version = "0.1"', 'version = "0.2"', pyproject.read_text()))
    publish.publish_all(repo, branch="tideway-site", log=lambda _m: None)
    publish.export(repo, "tideway-site", site)

    response = client.post("/api/v1/feedback", json=rating("latest"))
    assert response.status_code == 201 and response.json["version"] == "0.2"
    assert client.post("/api/v1/feedback", json=rating("0.1")).status_code == 201


def test_manifests_read_from_the_site_url(live_server, sqlite_url):
    app = create_app(
        {"database_url": sqlite_url, "site_url": live_server.url, "secret_key": TEST_SECRET}
    )
    client = app.test_client()
    assert client.post("/api/v1/feedback", json=rating("latest")).status_code == 201
    missing = client.post("/api/v1/feedback", json=rating("0.1", page="nope/"))
    assert missing.json["error"]["code"] == "unknown_page"
    assert client.get("/readyz").status_code == 200


def test_unreachable_site_answers_503_site_unavailable(sqlite_url, tmp_path):
    app = create_app(
        {"database_url": sqlite_url, "site_url": "http://127.0.0.1:9/", "secret_key": TEST_SECRET}
    )
    client = app.test_client()
    response = client.post("/api/v1/feedback", json=rating("0.1"))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "site_unavailable"
    assert response.headers["Retry-After"]
    assert client.get("/readyz").status_code == 503
