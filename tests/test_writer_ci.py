"""The workflow that docs/guides/ci.md gives writers, run on a repository that holds only
`mkdocs.yml`, `docs/` and that workflow: a bare remote stands in for GitHub, fresh clones
for the runner's checkout.

Every `run:` step runs as the page writes it, in order, except `Install` (this test's
environment is that install); each `uses:` step is replaced by what the action does locally.
A hook outside the repository logs every build, to hold publishing to one build per version.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_git
from tests.test_publish_ci import checkout, remote_show, runner_env

CI_PAGE = ROOT / "docs" / "guides" / "ci.md"

pytestmark = pytest.mark.slow

WRITER_YML = """\
site_name: Harbour Handbook
theme:
  name: material
  font: false
plugins:
  - search
  - tideway
hooks:
  - {hook}
extra:
  analytics:
    feedback:
      title: Was this page helpful?
      ratings:
        - icon: material/thumb-up-outline
          name: This page was helpful
          data: 1
        - icon: material/thumb-down-outline
          name: This page could be improved
          data: 0
"""
PAGES = {
    "index.md": "---\nowner: harbour-docs\n---\n# Harbour\n\nStart with [setup](setup.md).\n",
    "setup.md": "---\nowner: harbour-docs\n---\n# Setting up\n\nInstall the harbour.\n",
}
BUILD_LOG_HOOK = """\
import os


def on_post_build(config):
    with open(os.environ["WRITER_CI_BUILD_LOG"], "a") as log:
        log.write(os.environ.get("MIKE_DOCS_VERSION", "") + "\\n")
"""


def guide_workflow() -> str:
    """The one workflow the page shows, as written there."""
    blocks = CI_PAGE.read_text(encoding="utf-8").split("```yaml\n")[1:]
    assert len(blocks) == 1, "docs/guides/ci.md shows one workflow"
    return blocks[0].split("```", 1)[0]


class Runner:
    """Runs a job of the workflow in a fresh clone, as a GitHub runner would."""

    def __init__(self, tmp: Path, remote: Path, build_log: Path):
        self.tmp, self.remote = tmp, remote
        self.workflow = yaml.safe_load(guide_workflow())
        (tmp / "home").mkdir()
        self.env = {**runner_env(tmp / "home"), **self.workflow.get("env", {})}
        self.env["WRITER_CI_BUILD_LOG"] = str(build_log)
        self.artifact: Path | None = None
        self.served = tmp / "pages"  # what GitHub Pages serves after deploy-pages

    def run_job(self, name: str, ref: str, **github: str) -> Path:
        workspace = self.tmp / f"{name}-{ref}"
        env = {**self.env, **github}
        for step in self.workflow["jobs"][name]["steps"]:
            if "uses" in step:
                self.use(step, workspace, ref)
            elif step.get("name") == "Install":
                # The plugin-only distribution: no extra, no constraints file of ours.
                assert step["run"] == "pip install tideway-docs"
            else:
                done = subprocess.run(
                    ["bash", "-e", "-c", step["run"]], cwd=workspace, env=env,
                    capture_output=True, text=True, timeout=300,
                )  # fmt: skip
                assert done.returncode == 0, f"{step.get('name')}: {done.stdout}\n{done.stderr}"
        return workspace

    def use(self, step: dict, workspace: Path, ref: str) -> None:
        action, options = step["uses"].split("@")[0], step.get("with", {})
        if action == "actions/checkout":
            assert options.get("fetch-depth") == 0  # review dates come from the history
            checkout(self.remote, workspace, ref)
        elif action == "actions/setup-python":
            pass  # this test's interpreter is first on PATH
        elif action == "actions/upload-pages-artifact":
            # What the action runs: a tar of the directory, links followed.
            self.artifact = self.tmp / "artifact.tar"
            subprocess.run(
                ["tar", "--dereference", "--hard-dereference", "--directory",
                 str(workspace / options["path"]), "-cf", str(self.artifact),
                 "--exclude=.git", "--exclude=.github", "."],
                check=True,
            )  # fmt: skip
        elif action == "actions/deploy-pages":
            assert self.artifact is not None, "deploy-pages without an uploaded artifact"
            self.served.mkdir(exist_ok=True)
            with tarfile.open(self.artifact) as tar:
                tar.extractall(self.served, filter="data")
        else:
            pytest.fail(f"the workflow uses {step['uses']}, which this test does not stand in for")


def writer_repo(path: Path, hook: Path) -> Path:
    (path / "docs").mkdir(parents=True)
    (path / "mkdocs.yml").write_text(WRITER_YML.format(hook=hook))
    for name, text in PAGES.items():
        (path / "docs" / name).write_text(text)
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "docs.yml").write_text(guide_workflow())
    run_git(path, "init", "-q", "-b", "main")
    run_git(path, "add", "-A")
    run_git(path, "commit", "-qm", "docs")
    return path


def builds(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def served_versions(pages: Path) -> dict[str, list[str]]:
    return {v["version"]: v["aliases"] for v in json.loads((pages / "versions.json").read_text())}


def test_the_ci_guides_workflow_publishes_a_writers_repository(tmp_path):
    hook = tmp_path / "instrument" / "build_log.py"
    hook.parent.mkdir()
    hook.write_text(BUILD_LOG_HOOK)
    log = tmp_path / "builds.log"
    author = writer_repo(tmp_path / "author", hook)
    assert sorted(p.name for p in author.iterdir()) == [".git", ".github", "docs", "mkdocs.yml"]
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    run_git(author, "remote", "add", "origin", str(remote))
    run_git(author, "push", "-q", "origin", "main")
    runner = Runner(tmp_path, remote, log)
    jobs = runner.workflow["jobs"]
    assert "pull_request" in jobs["gates"]["if"] and "refs/tags/v" in jobs["publish"]["if"]
    assert jobs["pages"]["needs"] == "publish"

    # A pull request: the gates check one build of the working tree; nothing is published.
    pr = runner.run_job("gates", "main")
    report = json.loads((pr / "gates.json").read_text())
    assert report[0]["passed"] and report[0]["version"] == "dev"
    assert builds(log) == ["dev"]
    assert not run_git(author, "ls-remote", "--heads", "origin", "gh-pages")

    # Tag v1.0: built once, on gh-pages, and the whole site deployed to Pages.
    run_git(author, "tag", "v1.0")
    run_git(author, "push", "-q", "origin", "v1.0")
    runner.run_job("publish", "v1.0", GITHUB_REF_NAME="v1.0")
    assert builds(log) == ["dev", "1.0"]  # the gates' build is the one published
    runner.run_job("pages", "v1.0")
    pages = runner.served
    assert served_versions(pages) == {"1.0": ["latest"]}
    assert json.loads(remote_show(remote, "gh-pages:versions.json"))[0]["version"] == "1.0"

    # Tag v1.1 on a fresh runner: only 1.1 is built; Pages gets both versions.
    setup = author / "docs" / "setup.md"
    setup.write_text(setup.read_text() + "\nNew in 1.1.\n")
    run_git(author, "commit", "-qam", "1.1")
    run_git(author, "tag", "v1.1")
    run_git(author, "push", "-q", "origin", "main", "v1.1")
    runner.run_job("publish", "v1.1", GITHUB_REF_NAME="v1.1")
    assert builds(log) == ["dev", "1.0", "1.1"]
    runner.run_job("pages", "v1.1")
    assert served_versions(pages) == {"1.1": ["latest"], "1.0": []}
    assert 'href="1.1/"' in (pages / "index.html").read_text()
    assert 'var DEFAULT = "1.1";' in (pages / "404.html").read_text()
    for version in ("1.0", "1.1", "latest"):
        assert not (pages / version).is_symlink()  # an alias is a copy, as Pages serves it
        html = (pages / version / "setup" / "index.html").read_text()
        assert html.count('<form class="md-feedback" name="feedback"') == 1, version
        assert (pages / version / "assets" / "tideway" / "feedback.min.js").is_file()
        manifest = json.loads((pages / version / "feedback-manifest.json").read_text())
        assert {p["url"] for p in manifest["pages"]} == {"", "setup/"}
    assert 'data-tideway-version="1.1"' in (pages / "latest" / "setup" / "index.html").read_text()
    assert "New in 1.1." in (pages / "latest" / "setup" / "index.html").read_text()
    assert "New in 1.1." not in (pages / "1.0" / "setup" / "index.html").read_text()
    # The branch holds the same site: what the next tag's run starts from.
    assert "New in 1.1." in remote_show(remote, "gh-pages:1.1/setup/index.html")
