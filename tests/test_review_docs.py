"""The review docs are held true: the generated policy reference is in the built page, and
every command the review pages show runs (the CLI on a fresh store, curl on a live server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from feedback_api.review.core.policy import PRIORITIES, PriorityRule, TriagePolicy
from feedback_api.store import upgrade
from tests.conftest import ROOT

DOCS = ROOT / "docs"
VENV_BIN = os.path.dirname(sys.executable)
PAGES = ("concepts/review-tasks.md", "reference/triage-sla.md", "reference/reports.md")


def bash_lines(page: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (DOCS / page).read_text(), flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def run(line: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_the_policy_reference_is_generated_into_the_built_page(published_site):
    html = published_site.site_dir / published_site.current / "reference/triage-sla/index.html"
    text = html.read_text()
    assert "tideway:triage-reference" not in text  # the marker was replaced
    for name in (*TriagePolicy.model_fields, *PriorityRule.model_fields):
        assert f"<code>{name}</code>" in text, f"policy key {name} missing"
    for priority in PRIORITIES:
        assert f"<code>{priority}</code>" in text


@pytest.mark.slow  # each command is a fresh flask process
@pytest.mark.parametrize("page", PAGES[:2])
def test_the_cli_commands_on_the_review_pages_run(page, tmp_path):
    url = f"sqlite:///{tmp_path / 'docs.sqlite3'}"
    upgrade(url)
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "PASSWORD": "pw-from-docs",
           "TIDEWAY_DATABASE_URL": url, "TIDEWAY_SECRET_KEY": "d" * 40}  # fmt: skip
    lines = [line for line in bash_lines(page) if "flask --app feedback_api" in line]
    assert lines
    for line in lines:
        done = run(line, env)
        assert done.returncode == 0, f"{page}: {line}\n{done.stderr}"


def test_the_report_commands_run_against_a_live_server(live_server):
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
           "TIDEWAY_DATABASE_URL": live_server.database_url}  # fmt: skip
    for line in ("flask --app feedback_api users create docs --email d@example.com --team t",
                 "flask --app feedback_api tokens create docs"):  # fmt: skip
        done = run(line, env)
        assert done.returncode == 0, done.stderr
    env["TOKEN"] = done.stdout.strip()
    lines = bash_lines("reference/reports.md")
    assert len(lines) == 2
    for line in lines:
        done = run(line.replace("http://127.0.0.1:8000", live_server.url), env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(("{", '"priority","tasks","responded"')), done.stdout
