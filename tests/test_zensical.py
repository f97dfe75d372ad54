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
from pathlib import Path

import pytest

from tests.conftest import ROOT

ZENSICAL = Path(sys.executable).parent / "zensical"
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
    html = (stamped_site / "guides" / "writer" / "index.html").read_text()
    assert '<meta name="tideway:page" content="guides/writer/">' in html
    assert '<meta name="tideway:owner" content="docs-team">' in html
    assert '<meta name="tideway:title" content="Writer guide">' in html


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
        page.wait_for_function(
            "document.querySelector('[data-tideway-current]').textContent.trim() !== ''"
            " && document.querySelector('a[data-tideway-latest]').href.includes('/latest/')"
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
