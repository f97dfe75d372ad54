"""The GitHub Actions workflow's own steps, run locally: a temporary repository, a bare
remote standing in for GitHub, fresh clones standing in for the runner's checkout.

The steps `Install` and `Run the docs' tested commands` are not re-run here (this test
session is that run); every other `run:` step of the job runs as the workflow writes it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_git
from tests.test_publish_gates import GOOD, small_repo

WORKFLOW = ROOT / ".github" / "workflows" / "docs.yml"
NOT_RERUN = {"Install", "Run the docs' tested commands"}

# The workflow's steps in fresh clones: builds and publishes with mike.
pytestmark = pytest.mark.slow


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def run_job(job: str, checkout: Path, env: dict[str, str]) -> list[subprocess.CompletedProcess]:
    steps = [s for s in workflow()["jobs"][job]["steps"] if "run" in s]
    assert {s["name"] for s in steps} >= NOT_RERUN
    done = []
    for step in steps:
        if step["name"] in NOT_RERUN:
            continue
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=checkout, env=env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, f"{step['name']}: {result.stdout}\n{result.stderr}"
        done.append(result)
    return done


def runner_env(home: Path, **github) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GITHUB_ACTIONS="true",
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", NO_MKDOCS_2_WARNING="1",
        **github,
    )  # fmt: skip
    return env


def checkout(remote: Path, dest: Path, ref: str) -> Path:
    subprocess.run(["git", "clone", "-q", str(remote), str(dest)], check=True)
    subprocess.run(["git", "checkout", "-q", ref], cwd=dest, check=True)
    return dest


def remote_show(remote: Path, spec: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(remote), "show", spec],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_the_workflow_gates_pull_requests_and_publishes_tags(tmp_path):
    jobs = workflow()["jobs"]
    assert "pull_request" in jobs["gates"]["if"] and "refs/tags/v" in jobs["publish"]["if"]
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    author = small_repo(tmp_path / "author", GOOD)
    shutil.copytree(ROOT / "scripts", author / "scripts")
    shutil.copytree(ROOT / ".github", author / ".github")
    (author / "versions.yml").write_text("versions:\n  - {version: '1.0', aliases: [latest]}\n")
    run_git(author, "add", "-A")
    run_git(author, "commit", "-qm", "tools")
    run_git(author, "remote", "add", "origin", str(remote))
    run_git(author, "push", "-q", "origin", "main")

    # A pull request: the gates run, and nothing is pushed.
    (tmp_path / "home").mkdir()
    pr = checkout(remote, tmp_path / "pr", "main")
    (gates_step,) = run_job("gates", pr, runner_env(tmp_path / "home"))
    assert "Gates for version 1.0:" in gates_step.stdout
    report = json.loads((pr / "gates.json").read_text())
    assert report[0]["passed"] and len(report[0]["gates"]) == 5
    assert (
        subprocess.run(
            ["git", "--git-dir", str(remote), "rev-parse", "--verify", "-q", "gh-pages"]
        ).returncode
        != 0
    )

    # Tag v1.0: published as 1.0, alias latest, default.
    run_git(author, "tag", "v1.0")
    run_git(author, "push", "-q", "origin", "v1.0")
    ci = checkout(remote, tmp_path / "ci-1.0", "v1.0")
    run_job("publish", ci, runner_env(tmp_path / "home", GITHUB_REF_NAME="v1.0"))
    versions = json.loads(remote_show(remote, "gh-pages:versions.json"))
    assert [(v["version"], v["aliases"]) for v in versions] == [("1.0", ["latest"])]
    assert '"1.0"' in remote_show(remote, "gh-pages:1.0/feedback-manifest.json")
    assert 'var DEFAULT = "1.0";' in remote_show(remote, "gh-pages:404.html")
    author_name = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "-1", "--format=%an", "gh-pages"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert author_name == "docs publisher"  # the workflow's identity step took effect

    # Tag v1.1 on a fresh runner: 1.1 becomes latest, 1.0 stays published.
    page = author / "docs" / "guide.md"
    page.write_text(page.read_text() + "\nNew in 1.1.\n")
    run_git(author, "commit", "-qam", "1.1")
    run_git(author, "tag", "v1.1")
    run_git(author, "push", "-q", "origin", "main", "v1.1")
    ci = checkout(remote, tmp_path / "ci-1.1", "v1.1")
    run_job("publish", ci, runner_env(tmp_path / "home", GITHUB_REF_NAME="v1.1"))
    versions = {
        v["version"]: v["aliases"]
        for v in json.loads(remote_show(remote, "gh-pages:versions.json"))
    }
    assert versions == {"1.1": ["latest"], "1.0": []}
    assert "New in 1.1." in remote_show(remote, "gh-pages:1.1/guide/index.html")
    assert "New in 1.1." not in remote_show(remote, "gh-pages:1.0/guide/index.html")
    assert "1.1/" in remote_show(remote, "gh-pages:index.html")
