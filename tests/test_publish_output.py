"""`--output DIR`: the publishing branch's whole site as plain files, for a host that takes a
directory (a Pages artifact)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import run_git
from tideway_site.branch import PublishError, write_output


@pytest.fixture
def branch_repo(tmp_path):
    """A repository whose branch gh-pages holds mike's layout: a version, a symlinked alias."""
    repo = tmp_path / "repo"
    (repo / "1.0").mkdir(parents=True)
    (repo / "1.0" / "index.html").write_text("<p>one</p>\n")
    (repo / "latest").symlink_to("1.0")
    (repo / "versions.json").write_text('[{"version": "1.0", "aliases": ["latest"]}]\n')
    run_git(repo, "init", "-q", "-b", "gh-pages")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "site")
    return repo


def test_the_output_is_plain_files_with_aliases_copied(branch_repo, tmp_path):
    out = tmp_path / "out"
    write_output(branch_repo, "gh-pages", out)
    assert not (out / "latest").is_symlink() and (out / "latest").is_dir()
    assert (out / "latest" / "index.html").read_text() == "<p>one</p>\n"
    assert not any(p.is_symlink() for p in out.rglob("*"))
    assert sorted(os.listdir(out)) == ["1.0", "latest", "versions.json"]


def test_an_earlier_output_is_replaced_and_anything_else_refused(branch_repo, tmp_path):
    out = tmp_path / "out"
    write_output(branch_repo, "gh-pages", out)
    (out / "stale.html").write_text("from an earlier run\n")
    write_output(branch_repo, "gh-pages", out)
    assert not (out / "stale.html").exists()
    elsewhere = tmp_path / "project"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("mine\n")
    with pytest.raises(PublishError, match="is not empty and holds no versions.json"):
        write_output(branch_repo, "gh-pages", elsewhere)
    assert (elsewhere / "notes.txt").read_text() == "mine\n"
