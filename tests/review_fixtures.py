"""Fixtures for review work: reviewers and admins made with the real CLI, their tokens,
and submissions sent through the real ingest endpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

# name, role, team, tier
PEOPLE = [
    ("ana", "reviewer", "docs-team", 1),
    ("bo", "reviewer", "docs-team", 2),
    ("cy", "reviewer", "docs-team", 3),
    ("root", "admin", "platform-team", 3),
]


@dataclass
class Reviewers:
    tokens: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def cli(app, *args: str, input: str | None = None) -> str:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.stdout  # what a shell's $(...) would capture; notes go to stderr


@pytest.fixture
def reviewers(app) -> Reviewers:
    tokens = {}
    for name, role, team, tier in PEOPLE:
        cli(app, "users", "create", name, "--email", f"{name}@example.test", "--role", role,
            "--team", team, "--tier", str(tier))  # fmt: skip
        tokens[name] = cli(app, "tokens", "create", name).strip()
    return Reviewers(tokens)


def send(client, *, reader: str = "10.0.0.1", **fields) -> dict:
    """A reader's submission through POST /api/v1/feedback; answers the JSON (201)."""
    body = {"page": "reference/api/", "version": "0.1", "rating": 0,
            "idempotency_key": uuid.uuid4().hex, **fields}  # fmt: skip
    response = client.post("/api/v1/feedback", json=body, environ_base={"REMOTE_ADDR": reader})
    assert response.status_code == 201, response.json
    return response.json
