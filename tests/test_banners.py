"""What readers of old, new and moved pages see, in real Chromium on a static host.

Three versions published with mike into a real repository: 0.0 (an old commit, with a page
that was removed since), 0.1 (latest) and 0.2 (a development version). The exported branch
is served the way a static host serves it: files, and the root 404.html for anything else.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import services
from tests.conftest import make_docs_repo, run_git
from tideway_site import publish
from tideway_site.versions import Plan, VersionSpec

SCRIPTS_PARTIAL = "partials/tideway-scripts.html"
HOOK_PARTIAL = "partials/integrations/analytics.html"
# main.html as the overrides copied into sites before the plugin brought its theme had it.
OLD_MAIN = """{% extends "base.html" %}
{% block extrahead %}
  {{ super() }}
  {% include "partials/tideway-head.html" %}
{% endblock %}
{% block scripts %}
  {{ super() }}
  {% include "partials/tideway-scripts.html" %}
{% endblock %}
"""
LEGACY = "---\nowner: docs-team\n---\n# Legacy\n\nA page that only version 0.0 has.\n"
MOVED = "---\nowner: docs-team\n---\n# Moving\n\nA page that moves after version 0.0.\n"
# Since 0.0 the page lives elsewhere, and mkdocs-redirects sends its old address there.
REDIRECTS = "  - redirects:\n      redirect_maps:\n        moving.md: guides/moved.md\n"


class StaticHost(http.server.SimpleHTTPRequestHandler):
    """Files from the site directory; a missing one gets the root 404.html, like Pages."""

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.exists():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@dataclass
class Host:
    url: str
    site: Path


@pytest.fixture(scope="module")
def three_versions(tmp_path_factory) -> Host:
    base = tmp_path_factory.mktemp("banners")
    repo = make_docs_repo(base / "repo")
    (repo / "docs" / "legacy.md").write_text(LEGACY)
    (repo / "docs" / "moving.md").write_text(MOVED)
    # 0.0 is built from a commit whose theme is a copy of the old overrides (its own
    # main.html, no `outdated` block, no version script, no head hook): the plugin uses that
    # copy as it is and fills the slot itself, with the version script inline.
    overrides = repo / "overrides"
    (overrides / "main.html").write_text(OLD_MAIN)
    (overrides / HOOK_PARTIAL).unlink()
    scripts = overrides / SCRIPTS_PARTIAL
    kept = [ln for ln in scripts.read_text().splitlines() if "versions.js" not in ln]
    scripts.write_text("\n".join(kept))
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "a page for 0.0 only, an old theme")
    old = run_git(repo, "rev-parse", "HEAD")
    # Since: a writer's site, which copies nothing; the plugin brings its theme.
    run_git(repo, "rm", "-rq", "docs/legacy.md", "overrides")
    run_git(repo, "mv", "docs/moving.md", "docs/guides/moved.md")
    config = repo / "mkdocs.yml"
    text = re.sub(r"\n  custom_dir: overrides\n", "\n", config.read_text())
    config.write_text(text.replace("  - tideway\n", "  - tideway\n" + REDIRECTS, 1))
    assert "custom_dir" not in config.read_text()
    run_git(repo, "commit", "-qam", "legacy page removed, the plugin's theme")
    plan = Plan(
        (VersionSpec("0.1", "", ("latest",)), VersionSpec("0.0", old, title="0.0 (old)")),
        "latest",
        {"start-here/": "quickstart/"},
    )
    quiet = functools.partial(publish.publish, log=lambda _m: None, gates=False)
    assert quiet(repo, plan, branch_name="gh-pages").built == ["0.1", "0.0"]
    dev = Plan((VersionSpec("0.2", "", (), "0.2 (dev)", dev=True),), "latest", plan.redirects)
    assert quiet(repo, dev, branch_name="gh-pages").built == ["0.2"]
    site = base / "site"
    publish.export(repo, "gh-pages", site)

    handler = functools.partial(StaticHost, directory=str(site.resolve()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Host(f"http://127.0.0.1:{server.server_address[1]}", site)
    server.shutdown()


@pytest.fixture
def page(browser):
    context = browser.new_context()  # Material keeps "outdated" in sessionStorage
    page = context.new_page()
    yield page
    context.close()


def banner(page):
    slot = page.locator("[data-md-component=outdated]")
    slot.wait_for(state="visible")
    return slot


def test_an_old_version_says_so_and_links_to_the_same_page_in_latest(
    page, three_versions, output_dir
):
    page.goto(f"{three_versions.url}/0.0/quickstart/")
    slot = banner(page)
    assert "which is not the latest release" in slot.inner_text()
    link = slot.locator("a[data-tideway-latest]")
    services.wait_in_page(
        page,
        "document.querySelector('a[data-tideway-latest]').href.endsWith('/latest/quickstart/')",
    )
    page.screenshot(path=str(output_dir / "outdated-banner.png"))
    link.click()
    page.wait_for_url(f"{three_versions.url}/latest/quickstart/")
    assert page.locator("[data-md-component=outdated]").is_hidden()


@pytest.mark.slow  # three_versions publishes three versions with mike
def test_the_plugin_makes_the_banner_for_its_theme_and_for_an_old_copy(three_versions):
    old = (three_versions.site / "0.0" / "quickstart" / "index.html").read_text()
    new = (three_versions.site / "0.2" / "quickstart" / "index.html").read_text()
    for html in (old, new):
        assert html.count('data-tideway-banner="') == 1
        assert html.count('<meta name="tideway:version"') == 1  # the copy's stamps, once
    # An old copy's: with the version script inline. The plugin's theme: the script as an
    # asset; both banners are the plugin's, in Material's empty slot.
    assert "__tidewayVersions" in old and "assets/tideway/versions.js" not in old
    assert "__tidewayVersions" not in new and "assets/tideway/versions.js" in new


def test_a_page_missing_from_latest_links_to_its_home(page, three_versions):
    page.goto(f"{three_versions.url}/0.0/legacy/")
    slot = banner(page)
    # The manifest of latest has no legacy/: the link goes to latest's home page.
    page.wait_for_timeout(300)
    assert slot.locator("a").get_attribute("href").endswith("latest/")
    slot.locator("a").click()
    page.wait_for_url(f"{three_versions.url}/latest/")


def test_an_old_versions_banner_and_selector_follow_a_moved_page(page, three_versions):
    page.goto(f"{three_versions.url}/0.0/moving/")
    banner(page)
    # latest's manifest lists the redirect (mkdocs-redirects' redirect_maps): the banner
    # leads to the page's new place, not to latest's home page.
    services.wait_in_page(
        page,
        "document.querySelector('a[data-tideway-latest]').href.endsWith('/latest/guides/moved/')",
    )
    choose_version(page, "0.1")
    page.wait_for_url(f"{three_versions.url}/0.1/guides/moved/")


def test_a_development_version_says_not_yet_released(page, three_versions, output_dir):
    page.goto(f"{three_versions.url}/0.2/guides/writer/")
    slot = banner(page)
    assert "which is not yet released" in slot.inner_text()
    assert "not the latest release" not in slot.inner_text()
    page.screenshot(path=str(output_dir / "unreleased-banner.png"))


def test_the_latest_version_shows_no_banner(page, three_versions):
    page.goto(f"{three_versions.url}/latest/quickstart/")
    page.locator(".md-version__current").wait_for()
    page.wait_for_timeout(300)
    assert page.locator("[data-md-component=outdated]").is_hidden()


def choose_version(page, title: str) -> None:
    page.locator(".md-version__current").wait_for()
    page.hover(".md-version")
    page.locator(".md-version__link", has_text=title).click()


def test_the_version_selector_keeps_the_page(page, three_versions, output_dir):
    page.goto(f"{three_versions.url}/0.1/reference/configuration/")
    choose_version(page, "0.0 (old)")
    page.wait_for_url(f"{three_versions.url}/0.0/reference/configuration/")
    page.screenshot(path=str(output_dir / "switched-to-0.0.png"))
    page.goto(f"{three_versions.url}/0.0/legacy/")
    choose_version(page, "0.1")
    page.wait_for_url(f"{three_versions.url}/0.1/")  # 0.1 has no legacy/: its home


def test_the_root_404_sends_versionless_links_to_the_default_version(page, three_versions):
    page.goto(f"{three_versions.url}/quickstart/#send-a-rating-by-hand")
    page.wait_for_url(f"{three_versions.url}/latest/quickstart/#send-a-rating-by-hand")
    page.goto(f"{three_versions.url}/start-here/")
    page.wait_for_url(f"{three_versions.url}/latest/quickstart/")


def test_the_root_404_explains_a_page_missing_from_a_version(page, three_versions, output_dir):
    page.goto(f"{three_versions.url}/0.1/legacy/")
    message = page.locator("#tideway-404")
    message.locator("a").wait_for()
    assert "does not exist in version 0.1" in message.inner_text()
    page.screenshot(path=str(output_dir / "root-404.png"))
    message.locator("a").click()
    page.wait_for_url(f"{three_versions.url}/0.1/")


@pytest.mark.parametrize(
    "device",
    [
        ("desktop", {"viewport": {"width": 1280, "height": 900}}),
        ("phone", {"viewport": {"width": 390, "height": 844}, "is_mobile": True}),
    ],
    ids=["desktop", "phone"],
)
def test_the_root_404_is_the_default_versions_themed_page(
    browser, three_versions, output_dir, device
):
    """Not a bare page: the default version's own Material 404 page, its assets loaded from
    that version's directory, with the root 404's message and redirect."""
    name, options = device
    context = browser.new_context(**options)
    page = context.new_page()
    missing = f"{three_versions.url}/0.1/legacy/"
    failed = []
    page.on("response", lambda r: r.status >= 400 and r.url != missing and failed.append(r.url))
    try:
        page.goto(missing)
        message = page.locator("#tideway-404")
        message.locator("a").wait_for()
        assert "does not exist in version 0.1" in message.inner_text()
        assert page.locator("header.md-header").is_visible()
        sheets = page.evaluate("[...document.styleSheets].map(s => s.href || '')")
        assert any("/0.1/assets/stylesheets/main." in href for href in sheets), sheets
        # Material's stylesheet applies: its sticky header, its typeset article.
        assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).position") == (
            "sticky"
        )
        page.wait_for_load_state("networkidle")
        assert failed == []
        page.screenshot(path=str(output_dir / f"{name}-root-404.png"), full_page=True)

        page.goto(f"{three_versions.url}/start-here/?from=old#step")  # an old link, no version
        page.wait_for_url(f"{three_versions.url}/latest/quickstart/?from=old#step")
    finally:
        context.close()


def test_no_built_page_links_to_a_host_named_dot_dot(three_versions):
    # base_url is "/" on 404 pages: "{{ base_url }}/../latest/" made "//../latest/", a link
    # to the host "..". Every banner link, in every version and at the root, is a path.
    broken = [
        str(path.relative_to(three_versions.site))
        for path in three_versions.site.rglob("*.html")
        if 'href="//' in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert broken == []
