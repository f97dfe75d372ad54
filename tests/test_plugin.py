"""The MkDocs plugin on real builds: page stamps, the manifest, options, redirects."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_docs_repo, run_git
from tideway_site import history
from tideway_site import manifest as manifest_module
from tideway_site.htmlpage import read_page
from tideway_site.plugin import OPTION_HELP, TidewayConfig

MKDOCS = str(Path(sys.executable).parent / "mkdocs")


def mkdocs_build(cwd: Path, *args: str, version: str = "3.4") -> subprocess.CompletedProcess:
    env = {**os.environ, "MIKE_DOCS_VERSION": version, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [MKDOCS, "build", "--site-dir", "site", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="session")
def product_build(tmp_path_factory):
    """This product's docs, in a git repository, built once with the plugin."""
    repo = make_docs_repo(tmp_path_factory.mktemp("plugin") / "repo")
    done = mkdocs_build(repo, "--strict")
    assert done.returncode == 0, done.stderr
    site = repo / "site"
    return repo, site, json.loads((site / "feedback-manifest.json").read_text())


def meta(html: str, name: str) -> str | None:
    match = re.search(rf'<meta name="tideway:{name}" content="([^"]*)">', html)
    return match.group(1) if match else None


def test_pages_are_stamped_with_version_page_source_commit_owner_and_review(product_build):
    repo, site, _ = product_build
    html = (site / "operations" / "deploy" / "index.html").read_text()
    assert meta(html, "version") == "3.4"
    assert meta(html, "page") == "operations/deploy/"
    assert meta(html, "source") == "operations/deploy.md"
    assert meta(html, "owner") == "platform-team"
    assert meta(html, "commit") == run_git(repo, "rev-parse", "HEAD")
    assert meta(html, "reviewed") == run_git(repo, "log", "-1", "--format=%cs")
    assert re.fullmatch(r"[0-9a-f]{16}", meta(html, "hash"))


def test_the_manifest_lists_every_page_with_anchors_and_related_pages(product_build):
    _, site, doc = product_build
    assert doc["schema"] == 1 and doc["version"] == "3.4"
    by_url = {p["url"]: p for p in doc["pages"]}
    assert {"", "quickstart/", "guides/writer/", "reference/plugin/"} <= set(by_url)
    for page in doc["pages"]:
        assert page["owner"] and page["reviewed"] and len(page["hash"]) == 16
        built = read_page(site / page["url"] / "index.html")
        assert page["anchors"] == built.headings
        assert len(page["related"]) <= 3
        for related in page["related"]:
            assert related["url"] != page["url"] and related["url"] in by_url
            assert related["title"] == by_url[related["url"]]["title"]
    assert "gates" in by_url["guides/writer/"]["anchors"]
    # The two deployment pages share their subject (gunicorn, proxies, origins).
    assert "operations/api-deployment/" in {
        r["url"] for r in by_url["operations/deploy/"]["related"]
    }


def test_related_pages_weigh_rare_shared_terms_over_common_ones():
    terms = {
        "a/": manifest_module.page_terms("gunicorn nginx proxy tideway docs"),
        "b/": manifest_module.page_terms("gunicorn nginx upstream tideway docs"),
        "c/": manifest_module.page_terms("widget rating button tideway docs"),
        "d/": manifest_module.page_terms("widget rating comment tideway docs"),
    }
    related = manifest_module.related_pages(terms, {u: u.upper() for u in terms})
    assert related["a/"][0] == {"url": "b/", "title": "B/"}
    assert related["c/"][0]["url"] == "d/"
    # "tideway" and "docs" are on every page: they relate nothing to anything.
    assert [r["url"] for r in related["a/"]] == ["b/"]


def test_a_pages_terms_are_its_frequent_words_without_trailing_punctuation():
    terms = manifest_module.page_terms(
        "Proxy_ setup: the PROXY-- and `proxy` header; set-up with gunicorn. Also a_b- and the"
    )
    # Folded to lower case, `-` and `_` at a word's end left out, stop words and words under
    # four letters dropped; `set-up` and `proxy_setup`-style names stay whole.
    assert terms == {"proxy", "setup", "header", "set-up", "gunicorn"}


@pytest.mark.parametrize(
    "title, text",
    [
        ("Install  the\nplugin", "Install the plugin"),
        ("Q&amp;A: <code>mkdocs.yml</code>", "Q&A: mkdocs.yml"),
        ("<em>Fast</em> &lt;builds&gt;", "Fast <builds>"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_pages_title_is_its_text_as_jinjas_striptags_reads_it(title, text):
    assert manifest_module.page_title(title) == text
    if title:  # the stamp in partials/tideway-head.html, which the manifest command reads
        from markupsafe import Markup

        assert Markup(title).striptags() == text


def test_the_manifest_command_reads_the_same_from_the_html(product_build):
    _, site, doc = product_build
    derived = manifest_module.manifest_from_site(site)
    keys = ("url", "src", "title", "owner", "reviewed", "commit", "hash", "anchors")
    assert derived["version"] == doc["version"]
    assert [{k: p[k] for k in keys} for p in derived["pages"]] == [
        {k: p[k] for k in keys} for p in doc["pages"]
    ]


def test_every_option_has_a_line_in_the_reference():
    assert {name for name, _ in TidewayConfig._schema} == set(OPTION_HELP)


@pytest.fixture
def plain_site(tmp_path) -> Path:
    """A Material site that is not a git checkout and has a page without an owner."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\nSee [the new page](new.md#details).\n")
    (tmp_path / "docs" / "new.md").write_text(
        "---\nowner: writers\nreviewed: 2020-01-02\npriority: high\n---\n"
        "# New\n\n## Details\n\nText.\n"
    )
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Plain\ntheme:\n  name: material\n  font: false\n"
        "plugins:\n  - tideway:\n      redirects:\n        old.md: new.md\n"
    )
    return tmp_path


def test_missing_metadata_warns_and_fails_only_under_strict(plain_site):
    done = mkdocs_build(plain_site)
    assert done.returncode == 0, done.stderr
    assert "index.md has no owner" in done.stderr
    doc = json.loads((plain_site / "site" / "feedback-manifest.json").read_text())
    by_url = {p["url"]: p for p in doc["pages"]}
    assert by_url[""]["owner"] == "" and by_url[""]["commit"] == ""
    assert by_url["new/"]["reviewed"] == "2020-01-02" and by_url["new/"]["owner"] == "writers"
    assert by_url["new/"]["priority"] == "high" and by_url[""]["priority"] is None
    strict = mkdocs_build(plain_site, "--strict")
    assert strict.returncode != 0 and "index.md has no owner" in strict.stderr


def test_a_redirect_page_sends_the_old_path_to_the_new_page(plain_site):
    assert mkdocs_build(plain_site).returncode == 0
    stub = read_page(plain_site / "site" / "old" / "index.html")
    assert stub.redirect
    html = (plain_site / "site" / "old" / "index.html").read_text()
    assert 'url=../new/"' in html and "location.hash" in html


def test_a_bad_option_names_the_option(plain_site):
    config = plain_site / "mkdocs.yml"
    config.write_text(config.read_text() + "      freshness_days: soon\n")
    done = mkdocs_build(plain_site)
    assert done.returncode != 0 and "freshness_days" in done.stderr


WEB_STACK = ("flask", "sqlalchemy", "alembic", "gunicorn", "prometheus_client", "feedback_api")


@pytest.mark.parametrize("module", ["tideway_site.plugin", "tideway_site.publish"])
def test_the_mkdocs_side_imports_no_web_stack(module):
    # A docs build loads the plugin and publishing loads the publisher; neither may pay for
    # (or need installed) the API's web stack. A fresh interpreter sees every import.
    probe = f"import sys, {module}; print(','.join(m for m in {WEB_STACK!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"importing {module} loaded {loaded}"


def test_the_plugin_only_install_requires_no_web_stack():
    # `pip install tideway-docs` is the writer's install; the server is the `server` extra.
    requires = importlib.metadata.requires("tideway-docs") or []
    base = {re.split(r"[<>=!~\[; ]", r)[0].lower() for r in requires if "extra" not in r}
    assert base == {"mkdocs", "mkdocs-material", "mike", "markdown", "pyyaml"}
    scripts = {e.name for e in importlib.metadata.entry_points(group="console_scripts")}
    assert {"tideway-publish", "tideway-manifest", "tideway-serve"} <= scripts


def test_a_site_without_reference_markers_builds_without_the_api(tmp_path):
    # Reference markers are the only way a build reaches the API's modules (entry points of
    # the group tideway.references); a writer's site has none, and its build never loads them.
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("---\nowner: docs\n---\n# Home\n\nHello.\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Elsewhere\ntheme: {name: material}\nplugins: [tideway]\n"
    )
    # As on a plugin-only install: the web stack cannot even be imported.
    probe = (
        "import sys\n"
        "class NotInstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {WEB_STACK!r}:\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NotInstalled())\n"
        "from mkdocs.__main__ import cli\n"
        "try:\n    cli(['build', '--strict', '--quiet'])\nexcept SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"print(','.join(m for m in {WEB_STACK!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"the build loaded {done.stdout.strip()}"
    assert (tmp_path / "site" / manifest_module.MANIFEST_NAME).is_file()


def test_stamps_keep_quotes_and_ampersands_in_a_title_and_an_owner(plain_site):
    """The page stamps are attributes: a title such as `Use "mike" & a < b` comes back whole
    from the built HTML (the `manifest` command reads them), not cut at its quote, and the
    plugin's manifest has the same text, not MkDocs' HTML of it (`&amp;`)."""
    title, owner = 'Use "mike" & a < b', 'docs "core" team'
    (plain_site / "docs" / "new.md").write_text(
        f"---\nowner: '{owner}'\nreviewed: 2020-01-02\n---\n# {title}\n\n## Details\n\nText.\n"
    )
    done = mkdocs_build(plain_site)
    assert done.returncode == 0, done.stderr
    built = (plain_site / "site" / "new" / "index.html").read_text()
    assert '<meta name="tideway:title" content="Use &#34;mike&#34; &amp; a &lt; b">' in built
    site = plain_site / "site"
    derived = {p["url"]: p for p in manifest_module.manifest_from_site(site)["pages"]}
    assert derived["new/"]["title"] == title and derived["new/"]["owner"] == owner
    written = json.loads((site / "feedback-manifest.json").read_text())
    assert {p["url"]: p["title"] for p in written["pages"]}["new/"] == title


@pytest.fixture
def site_with_history(tmp_path) -> Path:
    """A site whose pages were last changed years apart, one of them named in Chinese, with
    newer commits on another page after them."""
    docs = tmp_path / "docs"
    (docs / "快速开始").mkdir(parents=True)
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: History\ntheme:\n  name: material\n  font: false\nplugins:\n  - tideway\n"
    )
    run_git(tmp_path, "init", "-q", "-b", "main")

    def commit(path: str, text: str, date: str) -> str:
        (docs / path).write_text(text, encoding="utf-8")
        run_git(tmp_path, "add", "-A")
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        subprocess.run(
            ["git", "-c", "user.name=W", "-c", "user.email=w@example.com", "commit", "-qm", path],
            cwd=tmp_path, env=env, check=True,
        )  # fmt: skip
        return run_git(tmp_path, "rev-parse", "HEAD")

    commit("快速开始/安装.md", "# 安装\n\n先安装。\n", "2021-03-04T10:00:00")
    commit("old.md", "# Old\n\nUnchanged since.\n", "2022-05-06T10:00:00")
    for n in range(5):
        commit("index.md", f"# Home\n\nEdit {n}.\n", f"2026-11-0{n + 1}T10:00:00")
    return tmp_path


def test_every_page_gets_its_last_commit_however_old_and_whatever_its_name(site_with_history):
    done = mkdocs_build(site_with_history)
    assert done.returncode == 0, done.stderr
    doc = json.loads((site_with_history / "site" / "feedback-manifest.json").read_text())
    by_src = {p["src"]: p for p in doc["pages"]}
    repo = site_with_history
    for src, day in (("快速开始/安装.md", "2021-03-04"), ("old.md", "2022-05-06")):
        assert by_src[src]["reviewed"] == day, src  # git quoted the name: never found
        assert by_src[src]["commit"] == run_git(
            repo, "log", "-1", "--format=%H", "--", f"docs/{src}"
        )
    assert by_src["index.md"]["reviewed"] == "2026-11-05"
    html = (repo / "site" / "快速开始" / "安装" / "index.html").read_text(encoding="utf-8")
    assert meta(html, "reviewed") == "2021-03-04"


def test_the_history_is_read_back_only_as_far_as_the_pages_asked_about(site_with_history):
    docs = site_with_history / "docs"
    everything = history.last_changes(docs)
    assert set(everything) == {"快速开始/安装.md", "old.md", "index.md"}
    recent = history.last_changes(docs, ["index.md"])
    assert set(recent) == {"index.md"} and recent["index.md"] == everything["index.md"]
    assert history.last_changes(docs, ["old.md", "missing.md"]) == everything
    assert history.last_changes(site_with_history.parent / "nowhere") is None
