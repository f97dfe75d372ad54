"""`tideway-publish --builder zensical` around the build (tideway_site/zensical_build.py): the
theme merged under the writer's own `custom_dir` outside their tree, the temporary config,
and what a version's inputs count. The build itself is tests/test_adoption.py's."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import run_git
from tideway_site import publish, zensical_build
from tideway_site.cli import publish_parser
from tideway_site.plugin import THEME_DIR
from tideway_site.versions import VersionSpec

MKDOCS_YML = """\
site_name: Harbour Handbook
theme:
  name: material
  custom_dir: overrides
  features:
    - navigation.tabs
markdown_extensions:
  - pymdownx.snippets
  - pymdownx.emoji:
      emoji_generator: !!python/name:material.extensions.emoji.to_svg
extra:
  analytics:
    provider: google
"""


def write_site(root, config: str = MKDOCS_YML):
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.md").write_text("# Home\n")
    (root / "overrides" / "partials").mkdir(parents=True)
    (root / "overrides" / "main.html").write_text('{% extends "base.html" %}\n')
    (root / "mkdocs.yml").write_text(config)
    return root


def test_the_theme_is_merged_outside_the_tree_and_the_writers_files_win(tmp_path):
    site = write_site(tmp_path / "site")
    own = site / "overrides" / "partials" / "feedback.html"
    own.write_text("<p>The writer's own feedback partial</p>\n")
    # A link inside custom_dir, which Zensical would not follow: the merge copies the file.
    (site / "shared.css").write_text("body { color: navy; }\n")
    (site / "overrides" / "shared.css").symlink_to(site / "shared.css")
    before = sorted(p.relative_to(site) for p in site.rglob("*"))

    merged = zensical_build.merge_theme(site / "overrides", tmp_path / "merged")

    assert (merged / "partials" / "feedback.html").read_text() == own.read_text()
    assert (merged / "main.html").read_text() == '{% extends "base.html" %}\n'
    ours = THEME_DIR / "partials" / "tideway-banner.html"
    assert (merged / "partials" / "tideway-banner.html").read_text() == ours.read_text()
    assert (merged / "assets" / "tideway" / "feedback.min.js").is_file()
    assert not (merged / "shared.css").is_symlink()
    assert (merged / "shared.css").read_text() == "body { color: navy; }\n"
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before
    # The package's theme is untouched by the writer's file of the same name.
    assert "writer's own" not in (THEME_DIR / "partials" / "feedback.html").read_text()


def test_a_site_without_custom_dir_gets_the_packages_theme(tmp_path):
    merged = zensical_build.merge_theme(None, tmp_path / "merged")
    assert (merged / "partials" / "feedback.html").read_text() == (
        THEME_DIR / "partials" / "feedback.html"
    ).read_text()


def test_the_build_config_names_the_merged_theme_and_sets_mikes_provider(tmp_path):
    site = write_site(tmp_path / "site")
    text = zensical_build.zensical_config(site / "mkdocs.yml", tmp_path / "theme", ".out")
    # Its tags stay as written, for Zensical to resolve.
    assert "!!python/name:material.extensions.emoji.to_svg" in text
    config = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 (no tag is constructed)
    assert config["theme"]["custom_dir"] == str(tmp_path / "theme")
    assert config["theme"]["features"] == ["navigation.tabs"]
    assert config["site_dir"] == ".out"
    assert config["extra"]["version"] == {"provider": "mike"}
    assert config["extra"]["analytics"] == {"provider": "google"}
    assert (site / "mkdocs.yml").read_text() == MKDOCS_YML  # the writer's file as it was


def test_a_theme_given_by_name_alone_is_kept(tmp_path):
    site = write_site(tmp_path / "site", "site_name: Plain\ntheme: material\n")
    text = zensical_build.zensical_config(site / "mkdocs.yml", tmp_path / "theme", ".out")
    config = yaml.safe_load(text)
    assert config["theme"] == {"name": "material", "custom_dir": str(tmp_path / "theme")}
    assert config["extra"] == {"version": {"provider": "mike"}}


def test_another_version_provider_is_refused_with_the_plugins_words(tmp_path):
    config = MKDOCS_YML + "  version:\n    provider: other\n"
    site = write_site(tmp_path / "site", config)
    with pytest.raises(publish.PublishError, match="extra.version.provider is 'other'"):
        zensical_build.zensical_config(site / "mkdocs.yml", tmp_path / "theme", ".out")


def test_the_builder_is_an_input_and_mkdocs_hashes_stay_as_they_were(tmp_path):
    site = write_site(tmp_path / "site")
    spec = VersionSpec("1.0")
    mkdocs = publish.inputs_hash(site, spec)
    assert publish.inputs_hash(site, spec, builder="mkdocs") == mkdocs
    zensical = publish.inputs_hash(site, spec, builder="zensical")
    assert zensical != mkdocs
    assert publish.inputs_hash(site, spec, builder="zensical") == zensical


def test_a_change_in_the_custom_dir_changes_the_zensical_hash(tmp_path):
    site = write_site(tmp_path / "site")
    before = publish.inputs_hash(site, builder="zensical")
    (site / "overrides" / "main.html").write_text('{% extends "base.html" %}\n<!-- new -->\n')
    assert publish.inputs_hash(site, builder="zensical") != before


def test_build_caches_and_the_output_directory_are_not_inputs(tmp_path):
    # Snippets without base_path read the whole repository as git sees it.
    site = write_site(tmp_path / "site")
    run_git(site, "init", "-q")
    before = publish.inputs_hash(site, builder="zensical", output=site / "public")
    (site / ".cache").mkdir()
    (site / ".cache" / "zensical.bin").write_bytes(b"\0cache")
    (site / "public" / "1.0").mkdir(parents=True)
    (site / "public" / "1.0" / "index.html").write_text("<p>published</p>\n")
    assert publish.inputs_hash(site, builder="zensical", output=site / "public") == before
    (site / "notes.md").write_text("Snippets may include it.\n")
    assert publish.inputs_hash(site, builder="zensical", output=site / "public") != before


def test_the_publish_command_takes_a_builder():
    parser = publish_parser()
    assert parser.parse_args(["1.0"]).builder == "mkdocs"
    assert parser.parse_args(["1.0", "--builder", "zensical"]).builder == "zensical"
    with pytest.raises(SystemExit):
        parser.parse_args(["1.0", "--builder", "sphinx"])


def test_a_zensical_toml_site_is_told_what_publishing_reads(tmp_path):
    (tmp_path / "zensical.toml").write_text('[project]\nsite_name = "Only TOML"\n')
    with pytest.raises(publish.PublishError, match="zensical.toml but no mkdocs.yml"):
        publish.inputs_hash(tmp_path, builder="zensical")


TINY_YML = """\
site_name: Tiny Handbook
theme:
  name: material
plugins:
  - tideway:
      owners_file: OWNERS
extra:
  analytics:
    feedback:
      title: Was this page helpful?
      ratings:
        - icon: material/emoticon-happy-outline
          name: This page was helpful
          data: 1
        - icon: material/emoticon-sad-outline
          name: This page could be improved
          data: 0
"""


@pytest.mark.slow
def test_a_zensical_publish_is_gated_recorded_and_kept_by_serve(tmp_path):
    """A real `zensical build` of a small site: owners come from the owners file, as the
    plugin would give them; versions.json records the builder, and `make serve`'s publish
    (publish_all) then finds the version current instead of rebuilding it with MkDocs."""
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "index.md").write_text("# Home\n\nWelcome.\n")
    (repo / "docs" / "guide.md").write_text("---\nowner: guide-team\n---\n\n# Guide\n\nRead.\n")
    (repo / "mkdocs.yml").write_text(TINY_YML)
    (repo / "OWNERS").write_text("*  docs-team\n")
    (repo / "versions.yml").write_text(
        "default: latest\nversions:\n  - version: '1.0'\n    aliases: [latest]\n"
    )
    run_git(repo, "init", "-q", "-b", "main")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "site")
    quiet = {"branch_name": "gh-pages", "log": lambda _m: None}

    outcome = publish.publish(repo, publish.repo_plan(repo), builder="zensical", **quiet)
    assert outcome.passed, outcome.gates
    assert outcome.built == ["1.0"]
    [gate, *_] = outcome.gates["1.0"]
    assert gate.gate == zensical_build.GATE_NAME
    doc = json.loads(run_git(repo, "show", "gh-pages:1.0/feedback-manifest.json"))
    owners = {p["url"]: p["owner"] for p in doc["pages"]}
    assert owners == {"": "docs-team", "guide/": "guide-team"}
    assert all(p["reviewed"] for p in doc["pages"])  # the last commit's date
    page = run_git(repo, "show", "gh-pages:1.0/guide/index.html")
    assert page.count('class="md-feedback"') == 1 and '"provider":"mike"' in page
    [entry] = publish.published_versions(repo, "gh-pages")
    assert entry["properties"]["builder"] == "zensical"
    assert publish.recorded_builder([entry]) == "zensical"
    assert publish.publish_all(repo, branch="gh-pages", log=lambda _m: None) == []
    assert run_git(repo, "status", "--porcelain") == ""
