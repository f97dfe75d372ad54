"""Publishing with mike into a real temporary git repository."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, make_docs_repo, run_git
from tideway_site import publish


def test_two_versions_published_with_latest_as_default(published_site):
    site = published_site.site_dir
    versions = json.loads((site / "versions.json").read_text())
    by_name = {v["version"]: v for v in versions}
    assert set(by_name) == {published_site.current, published_site.older}
    assert by_name[published_site.current]["aliases"] == ["latest"]
    assert "latest/" in (site / "index.html").read_text()
    assert (site / "latest").resolve() == (site / published_site.current).resolve()


def test_pages_carry_the_form_and_their_page_and_version(published_site):
    for version in (published_site.current, published_site.older):
        html = (published_site.site_dir / version / "quickstart" / "index.html").read_text()
        assert 'class="md-feedback" name="feedback"' in html
        assert 'data-tideway-page="quickstart/"' in html
        assert f'data-tideway-version="{version}"' in html
        assert 'data-md-value="0"' in html and 'data-md-value="1"' in html
        home = (published_site.site_dir / version / "index.html").read_text()
        assert 'data-tideway-page=""' in home


def test_each_version_has_its_page_manifest(published_site):
    for version in (published_site.current, published_site.older):
        manifest = json.loads(
            (published_site.site_dir / version / "feedback-manifest.json").read_text()
        )
        assert manifest["version"] == version
        urls = {p["url"] for p in manifest["pages"]}
        assert {"", "quickstart/"} <= urls


def test_the_release_tag_keeps_its_own_content(published_site):
    older = (published_site.site_dir / published_site.older / "quickstart/index.html").read_text()
    newer = published_site.site_dir / published_site.current / "quickstart/index.html"
    assert "edited after the 0.0.9 release" not in older
    assert "edited after the 0.0.9 release" in newer.read_text()


@pytest.mark.slow
def test_publishing_again_without_changes_rebuilds_nothing(tmp_path):
    repo = make_docs_repo(tmp_path / "repo")
    assert publish.publish_all(repo, branch="tideway-site", log=lambda _m: None) == ["0.1"]
    head = run_git(repo, "rev-parse", "tideway-site")
    assert publish.publish_all(repo, branch="tideway-site", log=lambda _m: None) == []
    assert run_git(repo, "rev-parse", "tideway-site") == head
    (repo / "docs" / "index.md").write_text("---\nowner: docs-team\n---\n# Changed\n\nNew words.\n")
    assert publish.publish_all(repo, branch="tideway-site", log=lambda _m: None) == ["0.1"]


@pytest.mark.slow
def test_make_serve_drops_a_version_removed_from_versions_yml(tmp_path):
    repo = make_docs_repo(tmp_path / "repo")
    head = run_git(repo, "rev-parse", "HEAD")
    listing = 'default: latest\nversions:\n  - {version: "0.2", ref: "", aliases: [latest]}\n'
    (repo / "versions.yml").write_text(listing + f'  - {{version: "0.1", ref: "{head}"}}\n')
    quiet = {"branch": "tideway-site", "log": lambda _m: None}
    assert publish.publish_all(repo, **quiet) == ["0.2", "0.1"]
    (repo / "versions.yml").write_text(listing)
    assert publish.publish_all(repo, **quiet) == []
    published = json.loads(run_git(repo, "show", "tideway-site:versions.json"))
    assert [v["version"] for v in published] == ["0.2"]


@pytest.mark.slow
def test_publishing_works_without_a_git_identity(tmp_path, monkeypatch):
    repo = make_docs_repo(tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL", "EMAIL"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    assert publish.publish_all(repo, branch="tideway-site", log=lambda _m: None) == ["0.1"]
    remotes = run_git(repo, "remote")
    assert remotes == ""  # and nothing was pushed anywhere


@pytest.mark.slow
def test_export_swaps_the_site_directory_atomically(tmp_path):
    repo = make_docs_repo(tmp_path / "repo")
    publish.publish_all(repo, branch="tideway-site", log=lambda _m: None)
    site = tmp_path / "site"
    first = publish.export(repo, "tideway-site", site)
    assert site.is_symlink() and (site / "versions.json").exists()
    (repo / "docs" / "index.md").write_text("---\nowner: docs-team\n---\n# Changed\n")
    publish.publish_all(repo, branch="tideway-site", log=lambda _m: None)
    second = publish.export(repo, "tideway-site", site)
    assert first != second and not first.exists()
    assert "Changed" in (site / "0.1" / "index.html").read_text()


@pytest.mark.slow
def test_a_fresh_clone_of_main_publishes_the_versions_of_versions_yml(tmp_path):
    """What `make serve` does on a new machine: every version of versions.yml, from refs
    that every clone has."""
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(ROOT), str(clone))
    plan = publish.repo_plan(clone)
    built = publish.publish_all(clone, branch="tideway-site", log=lambda _m: None)
    assert built == [spec.version for spec in plan.versions] and len(built) >= 2
    versions = json.loads(run_git(clone, "show", "tideway-site:versions.json"))
    assert {v["version"] for v in versions} == set(built)
    assert publish.publish_all(clone, branch="tideway-site", log=lambda _m: None) == []
