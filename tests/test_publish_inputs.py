"""What counts as a version's build inputs comes from the site's MkDocs configuration: a
change in any file a build reads rebuilds the version, wherever the configuration puts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_git
from tideway_site import publish
from tideway_site.versions import Plan, VersionSpec

# A writer's site that names its inputs its own way: an INHERITed base config, a custom_dir
# that is not `overrides`, a hook, a snippets folder, a watched folder, a docs_dir that is
# not `docs`, and a redirect template for mike.
BASE_YML = """\
theme:
  name: material
  custom_dir: look
  font: false
markdown_extensions:
  - pymdownx.snippets:
      base_path: [includes]
"""
MKDOCS_YML = """\
INHERIT: config/base.yml
site_name: Own Layout
docs_dir: pages
hooks:
  - build_hooks/stamp.py
watch:
  - data
plugins:
  - tideway
  - mike:
      redirect_template: templates/redirect.html
"""
FILES = {
    "mkdocs.yml": MKDOCS_YML,
    "config/base.yml": BASE_YML,
    "pages/index.md": '---\nowner: writers\n---\n# Home\n\n--8<-- "notice.md"\n',
    "look/main.html": '{% extends "base.html" %}\n',
    "build_hooks/stamp.py": "def on_post_build(config):\n    pass\n",
    "includes/notice.md": "Read me first.\n",
    "data/terms.yml": "term: one\n",
    "templates/redirect.html": "<meta http-equiv=refresh content='0; url={{href}}'>\n",
    "README.md": "Not read by a build.\n",
}


def write_site(root: Path, files: dict[str, str] = FILES) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    "changed",
    ["config/base.yml", "look/main.html", "build_hooks/stamp.py", "includes/notice.md",
     "data/terms.yml", "templates/redirect.html", "pages/index.md", "mkdocs.yml"],
)  # fmt: skip
def test_a_change_in_any_file_the_configuration_names_changes_the_hash(tmp_path, changed):
    site = write_site(tmp_path / "site")
    before = publish.inputs_hash(site)
    path = site / changed
    path.write_text(path.read_text() + "\n# changed\n")
    assert publish.inputs_hash(site) != before


def test_a_setting_taken_from_the_environment_changes_the_hash(tmp_path, monkeypatch):
    yml = MKDOCS_YML + "site_url: !ENV [HARBOUR_SITE_URL, 'https://docs.example.com/']\n"
    site = write_site(tmp_path / "site", {**FILES, "mkdocs.yml": yml})
    before = publish.inputs_hash(site)
    assert publish.inputs_hash(site) == before
    monkeypatch.setenv("HARBOUR_SITE_URL", "https://harbour.example.com/")
    assert publish.inputs_hash(site) != before


def test_files_no_build_reads_do_not_change_the_hash(tmp_path):
    site = write_site(tmp_path / "site")
    before = publish.inputs_hash(site)
    (site / "README.md").write_text("Edited.\n")
    (site / "notes").mkdir()
    (site / "notes" / "draft.md").write_text("Not in docs_dir.\n")
    assert publish.inputs_hash(site) == before


def test_the_same_sources_in_another_checkout_hash_the_same(tmp_path):
    first = write_site(tmp_path / "one")
    second = write_site(tmp_path / "two")
    assert publish.inputs_hash(first) == publish.inputs_hash(second)


def test_snippets_default_base_path_counts_what_git_tracks_not_what_it_ignores(tmp_path):
    yml = BASE_YML.replace("  - pymdownx.snippets:\n      base_path: [includes]\n", "")
    yml += "  - pymdownx.snippets\n"
    site = write_site(tmp_path / "site", {**FILES, "config/base.yml": yml})
    (site / ".gitignore").write_text(".venv/\n")
    run_git(site, "init", "-q")
    before = publish.inputs_hash(site)
    (site / ".venv").mkdir()
    (site / ".venv" / "lib.py").write_text("x = 1\n")
    assert publish.inputs_hash(site) == before  # ignored by git: not an input
    (site / "README.md").write_text("Snippets may include it now.\n")
    assert publish.inputs_hash(site) != before  # pymdownx reads from "." by default


def test_a_site_without_mkdocs_yml_is_named(tmp_path):
    with pytest.raises(publish.PublishError, match="has no mkdocs.yml"):
        publish.inputs_hash(tmp_path)


@pytest.mark.slow
def test_a_change_in_the_sites_own_custom_dir_is_rebuilt_and_published(tmp_path):
    files = {
        **FILES,
        "look/main.html": '{% extends "base.html" %}\n'
        "{% block announce %}<p class=own>First notice</p>{% endblock %}\n",
    }
    repo = write_site(tmp_path / "repo", files)
    run_git(repo, "init", "-q", "-b", "main")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "site")
    plan = Plan((VersionSpec("1.0", "", ("latest",)),), "latest")
    quiet = {"branch_name": "gh-pages", "log": lambda _m: None}
    assert publish.publish(repo, plan, **quiet).built == ["1.0"]
    assert publish.publish(repo, plan, **quiet).unchanged == ["1.0"]
    main_html = repo / "look" / "main.html"
    main_html.write_text(main_html.read_text().replace("First notice", "Second notice"))
    assert publish.publish(repo, plan, **quiet).built == ["1.0"]
    page = run_git(repo, "show", "gh-pages:1.0/index.html")
    assert "Second notice" in page and "Read me first." in page
