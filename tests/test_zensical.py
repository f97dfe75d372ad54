"""The product's docs built by Zensical (Material's successor, which runs no MkDocs plugins):
the page stamps, the widget's markup, the manifest made by the `manifest` command, and the
version banners, which the theme makes without the plugin."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import services
from tests.conftest import ROOT, LiveServer
from tideway_site import manifest
from tideway_site.htmlpage import read_page

ZENSICAL = Path(sys.executable).parent / "zensical"
MANIFEST = Path(sys.executable).parent / "tideway-manifest"
WIDGET_PARTIAL = "partials/feedback.html"


def zensical_build(project: Path) -> subprocess.CompletedProcess:
    if not ZENSICAL.exists():
        pytest.fail("zensical is not installed: `make test` installs it from constraints.txt")
    return subprocess.run(
        [str(ZENSICAL), "build", "--clean"], cwd=project,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def copy_product(dest: Path, *, widget: bool = True) -> Path:
    for name in ("docs", "overrides"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy2(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    if not widget:
        # Material's own feedback partial instead of the widget's: what this leaves to test
        # (stamps, manifest) does not depend on the widget's template.
        (dest / "overrides" / WIDGET_PARTIAL).unlink()
    return dest


@pytest.fixture(scope="module")
def stamped_site(tmp_path_factory) -> Path:
    project = copy_product(tmp_path_factory.mktemp("zensical") / "project", widget=False)
    done = zensical_build(project)
    assert done.returncode == 0, done.stderr[-2000:]
    return project / "site"


def test_pages_built_by_zensical_carry_the_stamps(stamped_site):
    # Read as the manifest command reads them: Zensical's engine escapes "/" as "&#x2f;".
    stamps = read_page(stamped_site / "guides" / "writer" / "index.html").stamps
    assert stamps["page"] == "guides/writer/"
    assert stamps["owner"] == "docs-team" and stamps["title"] == "Writer guide"


def test_the_manifest_command_reads_a_zensical_site(stamped_site):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "manifest"), str(stamped_site),
         "--version", "0.1", "--docs", str(ROOT / "docs")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads((stamped_site / "feedback-manifest.json").read_text())
    assert doc["schema"] == 1 and doc["version"] == "0.1"
    by_url = {p["url"]: p for p in doc["pages"]}
    sources = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert {p["src"] for p in doc["pages"]} == sources
    writer = by_url["guides/writer/"]
    assert writer["title"] == "Writer guide" and writer["owner"] == "docs-team"
    assert "gates" in writer["anchors"]
    assert 0 < len(writer["related"]) <= 3
    assert by_url[""]["src"] == "index.md"


def test_zensical_builds_the_product_docs_with_the_widget(tmp_path):
    project = copy_product(tmp_path / "project")
    done = zensical_build(project)
    # Zensical's template engine (MiniJinja) lacks some of Jinja2: a partial that uses them
    # fails here, naming the template and line.
    assert done.returncode == 0, done.stderr[-2000:]
    html = (project / "site" / "quickstart" / "index.html").read_text()
    form = re.search(r'<form class="md-feedback"[^>]*>', html)
    assert form, "no feedback form"
    assert 'data-tideway-page="quickstart/"' in form.group(0)
    assert "data-tideway-api=" in form.group(0)
    assert "assets/tideway/feedback" in html


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def zensical_versions(tmp_path_factory):
    """One Zensical build laid out as mike lays out versions: 0.2 (unreleased), 0.1 with the
    alias `latest` (the default), 0.0; versions.json at the root; served on 127.0.0.1."""
    base = tmp_path_factory.mktemp("zensical-versions")
    project = copy_product(base / "project")
    done = zensical_build(project)
    assert done.returncode == 0, done.stderr[-2000:]
    site = base / "site"
    for name in ("0.2", "0.1", "latest", "0.0"):
        shutil.copytree(project / "site", site / name)
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "manifest"), str(site / "latest"),
         "--version", "0.1", "--docs", str(ROOT / "docs")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    versions = [
        {"version": "0.2", "title": "0.2 (dev)", "aliases": []},
        {"version": "0.1", "title": "0.1", "aliases": ["latest"]},
        {"version": "0.0", "title": "0.0", "aliases": []},
    ]
    (site / "versions.json").write_text(json.dumps(versions))
    handler = functools.partial(QuietFiles, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def zensical_banner(browser, url: str, screenshot: Path | None = None) -> tuple[str, str]:
    """The banner's text and link on the page at `url`, once the version script is done."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        slot = page.locator("[data-md-component=outdated]")
        slot.wait_for(state="visible")
        services.wait_in_page(
            page,
            "document.querySelector('[data-tideway-current]').textContent.trim() !== ''"
            " && document.querySelector('a[data-tideway-latest]').href.includes('/latest/')",
        )
        page.wait_for_timeout(300)  # the same-page lookup in latest's manifest
        if screenshot:
            page.screenshot(path=str(screenshot))
        return slot.inner_text(), slot.locator("a[data-tideway-latest]").get_attribute("href")
    finally:
        context.close()


def test_zensical_sites_show_an_old_versions_banner(browser, zensical_versions, output_dir):
    text, link = zensical_banner(browser, f"{zensical_versions}/0.0/quickstart/",
                                 output_dir / "zensical-outdated.png")  # fmt: skip
    assert "You are reading version 0.0, which is not the latest release." in text
    assert "not yet released" not in text
    assert link == f"{zensical_versions}/latest/quickstart/"


def test_zensical_sites_show_an_unreleased_versions_banner(browser, zensical_versions):
    text, _ = zensical_banner(browser, f"{zensical_versions}/0.2/guides/writer/")
    assert "You are reading version 0.2, which is not yet released." in text
    assert "not the latest release" not in text


def test_zensical_sites_show_no_banner_on_the_default_version(browser, zensical_versions):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{zensical_versions}/latest/quickstart/")
        page.locator(".md-version__current").wait_for()
        page.wait_for_timeout(300)
        assert page.locator("[data-md-component=outdated]").is_hidden()
    finally:
        context.close()


# A writer's own site, built by Zensical: a guide and a blog post, whose URL (date and slug)
# names no file. Its theme is the package's, through `custom_dir`, as the writer guide says.
WRITER_CONFIG = """\
site_name: Harbour Handbook
theme:
  name: material
  custom_dir: overrides
plugins:
  - blog
extra:
  version:
    provider: mike
  analytics:
    feedback:
      title: Was this page helpful?
      ratings:
        - icon: material/emoticon-happy-outline
          name: This page was helpful
          data: 1
          note: Thanks!
        - icon: material/emoticon-sad-outline
          name: This page could be improved
          data: 0
          note: Thanks!
"""
WRITER_PAGES = {
    "index.md": "# Harbour Handbook\n\nHow the harbour runs.\n",
    "guide.md": "---\nowner: harbour-team\n---\n\n# Mooring guide\n\nTie up at berth {n}.\n",
    "blog/index.md": "# News\n",
    "blog/posts/opening.md": (
        "---\ndate: 2024-05-06\ncategories:\n  - Harbour\n---\n\n"
        "# The harbour opens\n\nBoats may moor from today.\n\n<!-- more -->\n\nAt berth {n}.\n"
    ),
}
POST_URL = "blog/2024/05/06/the-harbour-opens/"
POST_SOURCE = "blog/posts/opening.md"


@pytest.fixture(scope="module")
def writer_layout(tmp_path_factory) -> Path:
    """Versions 1.0 and 2.0 (alias `latest`, the default), each built with `zensical build`
    and given its manifest, in mike's layout: one directory per version and alias, and
    versions.json beside them. `draft` is a build that versions.json does not list."""
    base = tmp_path_factory.mktemp("zensical-writer")
    project, layout = base / "project", base / "site"
    (project / "overrides").parent.mkdir(parents=True)
    (project / "overrides").symlink_to(ROOT / "tideway_site" / "theme")
    (project / "mkdocs.yml").write_text(WRITER_CONFIG)
    for version in ("1.0", "2.0"):
        for src, body in WRITER_PAGES.items():
            (project / "docs" / src).parent.mkdir(parents=True, exist_ok=True)
            (project / "docs" / src).write_text(body.replace("{n}", version))
        done = zensical_build(project)
        assert done.returncode == 0, done.stderr[-2000:]
        done = subprocess.run(
            [str(MANIFEST), "site", "--version", version, "--docs", "docs"],
            cwd=project, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        shutil.copytree(project / "site", layout / version)
    shutil.copytree(layout / "2.0", layout / "latest")
    shutil.copytree(layout / "2.0", layout / "draft")
    versions = [
        {"version": "2.0", "title": "2.0", "aliases": ["latest"]},
        {"version": "1.0", "title": "1.0", "aliases": []},
    ]
    (layout / "versions.json").write_text(json.dumps(versions))
    return layout


def test_the_manifest_of_a_zensical_build_names_a_blog_posts_source(writer_layout):
    doc = json.loads((writer_layout / "1.0" / "feedback-manifest.json").read_text())
    sources = {p["url"]: p["src"] for p in doc["pages"]}
    assert sources[POST_URL] == POST_SOURCE
    assert sources["guide/"] == "guide.md" and sources["blog/"] == "blog/index.md"
    # Pages the blog generates have no source of their own: none is given a post's.
    assert list(sources.values()).count(POST_SOURCE) == 1


@pytest.fixture(scope="module")
def writer_server(writer_layout, migrated_sqlite, tmp_path_factory):
    """The real API (gunicorn) serving the layout, on a store of its own for this module."""
    store = tmp_path_factory.mktemp("zensical-store") / "feedback.sqlite3"
    shutil.copyfile(migrated_sqlite, store)
    server = LiveServer(
        {"TIDEWAY_DATABASE_URL": f"sqlite:///{store}", "TIDEWAY_SITE_DIR": str(writer_layout)}
    ).start()
    server.engine = create_engine(f"sqlite:///{store}")
    yield server
    server.engine.dispose()
    server.stop()


def stored(server, since: int = 0, count: int = 0) -> list[tuple]:
    """The (page, version, rating) rows after id `since`, once there are `count` of them."""
    query = text("SELECT page, version, rating FROM feedback WHERE id > :since ORDER BY id")
    deadline = time.monotonic() + 10
    while True:
        with server.engine.connect() as conn:
            found = [tuple(row) for row in conn.execute(query, {"since": since})]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def last_id(server) -> int:
    with server.engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM feedback")).scalar_one()


def rate(browser, url: str, value: int) -> str:
    """Open `url`, click the rating `value`, and return the widget's status line once the
    answer is sent or refused."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        form = page.locator("form.md-feedback")
        form.wait_for(state="visible")
        button = form.locator(f"button[data-md-value='{value}']")
        if button.is_enabled():
            with page.expect_response(lambda r: "/api/v1/feedback" in r.url) as answer:
                button.click()
            assert answer.value.status == 201, answer.value.text()
        return page.locator(".tideway-status").inner_text()
    finally:
        context.close()


def test_a_zensical_site_stores_ratings_under_its_published_versions(browser, writer_server):
    """The pages say no version (no plugin ran): the widget takes it from versions.json, and a
    rating given on the alias is stored under the version the alias names. On the same site,
    served by the API, the old version's banner and the version selector keep the page."""
    since = last_id(writer_server)
    rate(browser, f"{writer_server.url}/latest/guide/", 1)
    rate(browser, f"{writer_server.url}/1.0/{POST_URL}", 0)
    assert stored(writer_server, since, 2) == [("guide/", "2.0", 1), (POST_URL, "1.0", 0)]
    text, link = zensical_banner(browser, f"{writer_server.url}/1.0/{POST_URL}")
    assert "You are reading version 1.0, which is not the latest release." in text
    assert link == f"{writer_server.url}/latest/{POST_URL}"
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{writer_server.url}/1.0/guide/")
        page.locator(".md-version__current").wait_for()
        page.hover(".md-version")
        page.locator(".md-version__link", has_text="2.0").click()
        page.wait_for_url(f"{writer_server.url}/2.0/guide/")
    finally:
        context.close()


def test_a_zensical_page_of_an_unknown_version_says_so_and_sends_nothing(browser, writer_server):
    since = last_id(writer_server)
    status = rate(browser, f"{writer_server.url}/draft/guide/", 1)
    assert status == "This page cannot take feedback right now."
    time.sleep(0.3)
    assert stored(writer_server, since) == []


def test_posts_of_the_same_title_are_told_apart_by_their_slug(tmp_path):
    """Two posts called *Release notes*: each URL ends in its own `slug`. A page that neither
    its URL nor a title names (a generated one) keeps the file its URL would name."""
    docs = tmp_path / "docs"
    (docs / "blog" / "posts").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n")
    for name, slug in (("a.md", "notes-one"), ("b.md", "notes-two")):
        (docs / "blog" / "posts" / name).write_text(
            f"---\ndate: 2024-01-02\nslug: {slug}\n---\n\n```bash\n# not a title\n```\n\n"
            "# Release  notes\n"
        )
    pages = [
        {"url": "", "title": "Home"},
        {"url": "blog/2024/01/02/notes-two/", "title": "Release notes"},
        {"url": "blog/2024/01/02/notes-one/", "title": "Release notes"},
        {"url": "blog/archive/2024/", "title": "2024"},
    ]
    assert manifest.page_sources(pages, docs) == {
        "": "index.md",
        "blog/2024/01/02/notes-two/": "blog/posts/b.md",
        "blog/2024/01/02/notes-one/": "blog/posts/a.md",
        "blog/archive/2024/": "blog/archive/2024.md",
    }
