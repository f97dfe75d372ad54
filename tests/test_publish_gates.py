"""`scripts/publish` on real temporary git repositories: gates, versions.yml, incremental
rebuilds, the root 404 page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_git
from tideway_site import gates
from tideway_site.publish import publish, repo_plan
from tideway_site.versions import parse_plan

MKDOCS_YML = """site_name: Small
theme:
  name: material
  font: false
plugins:
  - tideway
extra:
  version:
    provider: mike
"""


def small_repo(path: Path, pages: dict[str, str]) -> Path:
    (path / "docs").mkdir(parents=True)
    (path / "mkdocs.yml").write_text(MKDOCS_YML)
    for name, text in pages.items():
        (path / "docs" / name).write_text(text)
    run_git(path, "init", "-q", "-b", "main")
    run_git(path, "add", "-A")
    run_git(path, "commit", "-qm", "docs")
    return path


GOOD = {
    "index.md": "---\nowner: writers\n---\n# Home\n\nSee [setup](guide.md#setup).\n",
    "guide.md": "---\nowner: writers\n---\n# Guide\n\n## Setup\n\nDo this.\n",
}


def run_publish(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "publish"), "--root", str(repo), *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def has_branch(repo: Path, name: str) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", name], cwd=repo, capture_output=True
    )
    return done.returncode == 0


def gate(report: list[dict], name: str) -> dict:
    return next(g for g in report[0]["gates"] if g["gate"].startswith(name))


@pytest.mark.slow
def test_clean_docs_pass_every_gate_and_get_published(tmp_path):
    repo = small_repo(tmp_path / "repo", GOOD)
    done = run_publish(repo, "1.0", "--alias", "latest", "--default")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Gates for version 1.0:" in done.stdout and "FAIL" not in done.stdout
    assert json.loads(run_git(repo, "show", "gh-pages:versions.json"))[0]["aliases"] == ["latest"]
    assert "feedback-manifest.json" in run_git(repo, "ls-tree", "--name-only", "gh-pages:1.0")
    root_404 = run_git(repo, "show", "gh-pages:404.html")
    assert 'var DEFAULT = "1.0";' in root_404


def test_a_missing_anchor_fails_its_gate_and_publishes_nothing(tmp_path):
    pages = {**GOOD, "index.md": GOOD["index.md"].replace("#setup", "#set-up")}
    repo = small_repo(tmp_path / "repo", pages)
    done = run_publish(repo, "1.0", "--report-json", str(tmp_path / "report.json"))
    assert done.returncode == 1
    assert "A gate failed: nothing was published." in done.stderr
    assert "missing anchor 'guide/#set-up'" in done.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    links = gate(report, "links")
    assert not links["passed"] and links["problems"][0]["file"] == "docs/index.md"
    assert gate(report, "owners")["passed"]
    assert not has_branch(repo, "gh-pages")


def test_a_page_without_an_owner_fails_the_build_and_the_owner_gate(tmp_path):
    repo = small_repo(tmp_path / "repo", {**GOOD, "orphan.md": "# Orphan\n"})
    done = run_publish(repo, "1.0", "--report-json", str(tmp_path / "report.json"))
    assert done.returncode == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert not gate(report, "strict build")["passed"]
    owners = gate(report, "owners")
    assert [p["file"] for p in owners["problems"]] == ["docs/orphan.md"]
    assert not has_branch(repo, "gh-pages")


def test_a_stale_page_fails_the_freshness_gate(tmp_path):
    stale = "---\nowner: writers\nreviewed: 2020-01-01\n---\n# Guide\n\n## Setup\n"
    repo = small_repo(tmp_path / "repo", {**GOOD, "guide.md": stale})
    done = run_publish(repo, "1.0")
    assert done.returncode == 1
    assert "guide.md: last reviewed 2020-01-01, more than 365 days ago" in done.stdout
    assert not has_branch(repo, "gh-pages")


@pytest.mark.slow
def test_a_tested_command_block_must_have_run(tmp_path):
    command = "echo tideway > ran.txt\n"
    page = f"---\nowner: writers\n---\n# Run\n\n<!-- tested: repo -->\n```bash\n{command}```\n"
    repo = small_repo(tmp_path / "repo", {**GOOD, "run.md": page})
    ledger = tmp_path / "ledger.json"
    done = run_publish(repo, "1.0", "--ledger", str(ledger))
    assert done.returncode == 1 and "`echo tideway > ran.txt` has not run" in done.stdout

    ran = subprocess.run(["bash", "-c", command], cwd=tmp_path)
    gates.record_run(ledger, command, ran.returncode, "run.md")
    done = run_publish(repo, "1.0", "--ledger", str(ledger))
    assert done.returncode == 0, done.stdout
    assert (tmp_path / "ran.txt").read_text() == "tideway\n"

    # A block whose text changed since it ran has not run.
    page = page.replace("echo tideway", "echo tideway again")
    (repo / "docs" / "run.md").write_text(page)
    assert run_publish(repo, "1.1", "--ledger", str(ledger)).returncode == 1


def branch_tree(repo: Path, path: str) -> str:
    return run_git(repo, "rev-parse", f"gh-pages:{path}")


@pytest.mark.slow
def test_publish_all_rebuilds_only_the_versions_whose_inputs_changed(tmp_path):
    repo = small_repo(tmp_path / "repo", GOOD)
    refs = []
    for n in (1, 2):
        (repo / "docs" / "guide.md").write_text(GOOD["guide.md"] + f"\nRelease {n}.\n")
        run_git(repo, "commit", "-qam", f"release {n}")
        refs.append(run_git(repo, "rev-parse", "HEAD"))
    (repo / "versions.yml").write_text(
        "default: latest\nredirects:\n  start/: guide/\nversions:\n"
        "  - {version: '3.0', ref: '', aliases: [latest]}\n"
        f"  - {{version: '2.0', ref: {refs[1]}}}\n"
        f"  - {{version: '1.0', ref: {refs[0]}, title: '1.0 (old)'}}\n"
    )
    plan = repo_plan(repo)
    first = publish(repo, plan, branch_name="gh-pages", log=lambda _m: None)
    assert first.passed and first.built == ["3.0", "2.0", "1.0"]
    assert "Release 1." in run_git(repo, "show", "gh-pages:1.0/guide/index.html")
    before = {v: branch_tree(repo, v) for v in ("1.0", "2.0", "3.0")}

    (repo / "docs" / "guide.md").write_text(GOOD["guide.md"] + "\nWorking tree.\n")
    second = publish(repo, plan, branch_name="gh-pages", log=lambda _m: None)
    assert second.built == ["3.0"] and second.unchanged == ["2.0", "1.0"]
    assert list(second.gates) == ["3.0"]  # only what is rebuilt is gated
    after = {v: branch_tree(repo, v) for v in ("1.0", "2.0", "3.0")}
    assert after["1.0"] == before["1.0"] and after["2.0"] == before["2.0"]
    assert after["3.0"] != before["3.0"]

    head = run_git(repo, "rev-parse", "gh-pages")
    assert publish(repo, plan, branch_name="gh-pages", log=lambda _m: None).built == []
    assert run_git(repo, "rev-parse", "gh-pages") == head
    versions = {
        v["version"]: v for v in json.loads(run_git(repo, "show", "gh-pages:versions.json"))
    }
    assert versions["1.0"]["title"] == "1.0 (old)" and versions["3.0"]["aliases"] == ["latest"]
    assert '"start/": "guide/"' in run_git(repo, "show", "gh-pages:404.html")


@pytest.mark.slow
def test_publish_all_prune_deletes_the_versions_dropped_from_versions_yml(tmp_path):
    repo = small_repo(tmp_path / "repo", GOOD)
    old = run_git(repo, "rev-parse", "HEAD")
    listing = "versions:\n  - {version: '2.0', ref: '', aliases: [latest]}\n"
    (repo / "versions.yml").write_text(listing + f"  - {{version: '1.0', ref: {old}}}\n")
    assert run_publish(repo, "--all").returncode == 0
    (repo / "versions.yml").write_text(listing)  # 1.0 is no longer published

    def published() -> list[str]:
        return [v["version"] for v in json.loads(run_git(repo, "show", "gh-pages:versions.json"))]

    kept = run_publish(repo, "--all")  # without --prune a dropped version stays
    assert kept.returncode == 0 and published() == ["2.0", "1.0"]
    pruned = run_publish(repo, "--all", "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "Deleted, no longer in versions.yml: 1.0." in pruned.stdout
    assert published() == ["2.0"]
    assert not has_branch(repo, "gh-pages:1.0")
    assert run_publish(repo, "2.0", "--prune").returncode == 2  # only with --all
    (repo / "versions.yml").unlink()  # release tags are not a list of what to keep
    assert run_publish(repo, "--all", "--prune").returncode == 2


def test_publish_all_stops_before_deploying_when_an_old_version_fails(tmp_path):
    repo = small_repo(tmp_path / "repo", {**GOOD, "orphan.md": "# Orphan\n"})
    old = run_git(repo, "rev-parse", "HEAD")
    (repo / "docs" / "orphan.md").unlink()
    (repo / "versions.yml").write_text(
        "versions:\n  - {version: '2.0', ref: '', aliases: [latest]}\n"
        f"  - {{version: '1.0', ref: {old}}}\n"
    )
    done = run_publish(repo, "--all")
    assert done.returncode == 1
    assert "Gates for version 2.0:" in done.stdout and "Gates for version 1.0:" in done.stdout
    assert not has_branch(repo, "gh-pages")  # 2.0 passed, and was not published either


@pytest.mark.parametrize(
    "text, message",
    [
        ("versions: [{version: '1.0', aliases: [x]}, {version: '2.0', ref: a, aliases: [x]}]",
         "'x' is used by both '1.0' and '2.0'"),
        ("default: stable\nversions: [{version: '1.0'}]", "default 'stable' is not one of"),
        ("versions: [{version: '1.0'}, {version: '2.0'}]", "only one version can be built"),
        ("versions: [{version: '1.0', branch: x}]", "unknown keys: branch"),
        ("versions: [{version: 'a b'}]", "'a b' is not a version name"),
    ],
)  # fmt: skip
def test_versions_yml_mistakes_are_named(text, message):
    import yaml

    with pytest.raises(ValueError, match=message):
        parse_plan(yaml.safe_load(text))


def test_the_products_versions_yml_names_a_commit_of_this_repository():
    plan = repo_plan(ROOT)
    assert plan.find(plan.default) is not None
    for spec in plan.versions:
        if spec.ref:
            assert run_git(ROOT, "cat-file", "-t", spec.ref) == "commit"
        else:
            from tideway_site.publish import project_version

            assert spec.version == project_version(ROOT)
    assert len(plan.versions) >= 2


# The gates read every input from the site's configuration: a config file that is not the
# repository's root mkdocs.yml, its docs_dir, the plugin's owners file, `exempt` and
# `warn_only`. Problems name paths from the repository's root, as CI annotations need.
# The site's settings come from a shared base file (INHERIT), its docs from pages/.
HANDBOOK_YML = "INHERIT: base.yml\ndocs_dir: pages\n"
BASE_YML = """site_name: Handbook
theme: {name: material, font: false}
plugins:
  - tideway:
      owners_file: ../OWNERS
"""
HANDBOOK = {
    "index.md": "# Home\n\nSee [setup](guide.md#set-up).\n",
    "guide.md": "---\nreviewed: 2020-01-01\n---\n# Guide\n\n## Setup\n",
    "orphan.md": "# Orphan\n",
    "run.md": "# Run\n\n<!-- tested: repo -->\n```bash\necho never\n```\n",
}


@pytest.fixture
def handbook(tmp_path) -> Path:
    """A repository whose site lives in handbook/ with its pages in handbook/pages/."""
    repo = tmp_path / "repo"
    pages = repo / "handbook" / "pages"
    pages.mkdir(parents=True)
    (repo / "handbook" / "mkdocs.yml").write_text(HANDBOOK_YML)
    (repo / "handbook" / "base.yml").write_text(BASE_YML)
    (repo / "OWNERS").write_text("*  writers\norphan.md\n")
    for name, text in HANDBOOK.items():
        (pages / name).write_text(text)
    run_git(repo, "init", "-q", "-b", "main")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "docs")
    return repo


def handbook_gates(repo: Path, tmp_path: Path) -> dict[str, gates.GateResult]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MIKE_DOCS_VERSION": "1.0"}
    results = gates.run_gates(
        repo, tmp_path / "out", env, tmp_path / "ledger.json",
        config_file=repo / "handbook" / "mkdocs.yml",
    )  # fmt: skip
    return {r.gate.split(" (")[0]: r for r in results}


def test_the_gates_read_the_sites_config_and_name_repository_paths(handbook, tmp_path, monkeypatch):
    results = handbook_gates(handbook, tmp_path)
    files = {name: [p.file for p in r.problems] for name, r in results.items()}
    # The owners file owns every page but orphan.md, whose line names no owner.
    assert files["owners"] == ["handbook/pages/orphan.md"]
    assert files["links and anchors"] == ["handbook/pages/index.md"]
    assert files["freshness"] == ["handbook/pages/guide.md"]
    assert files["tested commands"] == ["handbook/pages/run.md"]  # from docs_dir: pages
    assert set(files["strict build"]) == {"handbook/mkdocs.yml"}  # a page without an owner
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    annotations = gates.github_annotations(list(results.values())).splitlines()
    owner_line = "::error file=handbook/pages/orphan.md,title=owners::no owner"
    assert any(line.startswith(owner_line) for line in annotations), annotations
    assert {line.split(",")[0] for line in annotations} >= {
        "::error file=handbook/pages/index.md", "::error file=handbook/pages/guide.md",
        "::error file=handbook/pages/run.md", "::error file=handbook/mkdocs.yml",
    }  # fmt: skip


def test_warn_only_gates_report_without_failing(handbook, tmp_path, monkeypatch):
    config = handbook / "handbook" / "base.yml"
    config.write_text(BASE_YML + "      warn_only: [owners, freshness, links, commands]\n")
    results = handbook_gates(handbook, tmp_path)
    assert all(r.passed for r in results.values()), gates.report_table(
        "1.0", list(results.values())
    )
    assert results["owners"].state == "warn" and results["owners"].problems
    assert results["strict build"].state == "pass"  # the plugin's notes are no warnings
    table = gates.report_table("1.0", list(results.values()))
    assert re.search(r"owners\s+warn\s+1 problem\(s\)", table), table
    assert "handbook/pages/orphan.md: no owner" in table
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    annotations = gates.github_annotations(list(results.values()))
    assert "::warning file=handbook/pages/orphan.md,title=owners::" in annotations
    assert "::error" not in annotations

    config.write_text(BASE_YML + "      warn_only: true\n")
    assert all(r.passed for r in handbook_gates(handbook, tmp_path).values())


def test_a_blogs_generated_pages_pass_the_owner_and_freshness_gates(tmp_path):
    from tests.test_every_page import WITH_OWNERS, write_site

    repo = write_site(tmp_path / "repo", WITH_OWNERS)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MIKE_DOCS_VERSION": "1.0"}
    results = gates.run_gates(repo, tmp_path / "out", env, tmp_path / "ledger.json")
    assert all(r.passed and not r.problems for r in results), gates.report_table("1.0", results)
    manifest = json.loads((tmp_path / "out" / "feedback-manifest.json").read_text())
    assert sum(1 for p in manifest["pages"] if p.get("generated")) == 8


def test_the_gates_find_a_config_named_mkdocs_yaml(tmp_path):
    repo = small_repo(tmp_path / "repo", GOOD)
    (repo / "mkdocs.yml").rename(repo / "mkdocs.yaml")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MIKE_DOCS_VERSION": "1.0"}
    results = gates.run_gates(repo, tmp_path / "out", env, tmp_path / "ledger.json")
    assert all(r.passed for r in results), gates.report_table("1.0", results)
