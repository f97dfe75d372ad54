"""A writer's own MkDocs site, which nobody here wrote, adopts the widget as the writer guide
says: `- tideway` under `plugins:` and the `extra.analytics.feedback` block, nothing copied.

The site has its own `custom_dir` with its own `main.html` (an announce bar, its own head
tag), its own CSS and a Google Analytics provider, and no `extra.version`. Built with
`mkdocs build --strict` as two versions laid out as mike lays them out, served with the live
API, read in Chromium with every request to another origin refused (Google is never loaded).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError

from tests import services
from tests.test_widget import start_server, stop, view, wait_rows
from tideway_site import plugin

MKDOCS = [sys.executable, "-m", "mkdocs"]
PAGES = {"": "index.md", "guide/setup/": "guide/setup.md", "guide/faq/": "guide/faq.md"}

MKDOCS_YML = """\
site_name: Harbour Handbook
theme:
  name: material
  custom_dir: theme
  font: false
  features:
    - navigation.instant
plugins:
  - search
  - tideway
extra_css:
  - stylesheets/harbour.css
extra:
  analytics:
    provider: google
    property: G-HARBOUR123
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

# The writer's own theme customisation: what copying the old overrides/ used to replace.
MAIN_HTML = """\
{% extends "base.html" %}
{% block extrahead %}
  <meta name="harbour-theme" content="own">
{% endblock %}
{% block announce %}
  <p class="harbour-announce">Harbour 3 is out: read the release notes.</p>
{% endblock %}
"""


def page_source(title: str) -> str:
    return f"---\nowner: harbour-docs\nreviewed: 2026-01-15\n---\n# {title}\n\nSome text.\n"


def write_writer_site(root: Path, config: str = MKDOCS_YML) -> Path:
    (root / "theme").mkdir(parents=True)
    (root / "theme" / "main.html").write_text(MAIN_HTML)
    docs = root / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "stylesheets").mkdir()
    (docs / "stylesheets" / "harbour.css").write_text(".harbour-announce{font-weight:700}\n")
    for title, src in zip(("Harbour", "Setting up", "Questions"), PAGES.values(), strict=True):
        (docs / src).write_text(page_source(title))
    (root / "mkdocs.yml").write_text(config)
    return root


def build(project: Path, site_dir: Path, version: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MIKE_DOCS_VERSION": version, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [*MKDOCS, "build", "--strict", "--site-dir", str(site_dir)],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def writer_site(tmp_path_factory) -> Path:
    """Versions 1.0 (alias latest, the default) and 0.9, as mike lays them out."""
    base = tmp_path_factory.mktemp("writer")
    project = write_writer_site(base / "project")
    site = base / "site"
    for version in ("1.0", "0.9"):
        done = build(project, site / version, version)
        assert done.returncode == 0, done.stderr[-3000:]
    (site / "latest").symlink_to("1.0")
    versions = [
        {"version": "1.0", "title": "1.0", "aliases": ["latest"]},
        {"version": "0.9", "title": "0.9", "aliases": []},
    ]
    (site / "versions.json").write_text(json.dumps(versions))
    return site


@pytest.fixture(scope="module")
def writer_server(writer_site, tmp_path_factory):
    server = start_server(writer_site, tmp_path_factory.mktemp("writer-store"))
    yield server
    stop(server)


@pytest.fixture
def offline(browser, writer_server):
    """A reader's browser in which every request to another origin fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []

    def only_the_site(route):
        if route.request.url.startswith(writer_server.url + "/"):
            return route.continue_()
        elsewhere.append(route.request.url)
        return route.abort()

    context.route("**/*", only_the_site)
    page = context.new_page()
    page.elsewhere = elsewhere
    yield page
    context.close()


def test_the_built_pages_keep_the_writers_theme_and_carry_the_widget(writer_site):
    for url in PAGES:
        html = (writer_site / "1.0" / url / "index.html").read_text()
        assert '<meta name="harbour-theme" content="own">' in html, url
        assert 'class="harbour-announce"' in html, url
        assert "stylesheets/harbour.css" in html, url
        assert html.count('<form class="md-feedback" name="feedback"') == 1, url
        assert f'data-tideway-page="{url}"' in html and 'data-tideway-version="1.0"' in html
        assert html.count('<meta name="tideway:version" content="1.0">') == 1, url
        assert html.count("assets/tideway/feedback.min.js") == 1, url
        assert html.count("assets/tideway/versions.js") == 1, url
        assert "googletagmanager.com/gtag/js" in html  # the writer's provider, as before
    for asset in ("feedback.css", "feedback.min.js", "versions.js"):
        assert (writer_site / "1.0" / "assets" / "tideway" / asset).is_file()
    config = (writer_site / "1.0" / "index.html").read_text()
    assert '"version": {"provider": "mike"}' in config


def test_a_writers_reader_rates_every_page_beside_google_analytics(offline, writer_server):
    page, server = offline, view(writer_server)
    for count, (url, _src) in enumerate(PAGES.items(), start=1):
        page.goto(f"{server.url}/latest/{url}")
        announce = page.locator(".harbour-announce")
        assert announce.is_visible() and "Harbour 3 is out" in announce.inner_text()
        weight = "getComputedStyle(document.querySelector('.harbour-announce')).fontWeight"
        assert page.evaluate(weight) == "700"  # the writer's own CSS
        form = page.locator("form.md-feedback")
        form.wait_for(state="visible")
        form.locator("button[data-md-value='1']").click()
        page.locator("form.tideway-more").wait_for(state="visible")
        [*_, row] = wait_rows(server, count, page=url)
        assert row["version"] == "1.0" and row["rating"] == 1
        # Google's script (blocked here) still got its own feedback event.
        events = page.evaluate(
            "(window.dataLayer || []).filter(a => a[0] === 'event' && a[1] === 'feedback')"
            ".map(a => a[2])"
        )
        assert events == [{"page": f"/latest/{url}", "data": "1"}]
    # The provider ran: it asked for Google's script, which never loaded (the site's CSP or
    # the route above stops it).
    assert page.locator("script[src*='googletagmanager.com/gtag/js']").count() == 1


def test_the_writers_old_version_has_the_selector_and_the_banner(offline, writer_server):
    page, server = offline, view(writer_server)
    page.goto(f"{server.url}/0.9/guide/setup/")
    slot = page.locator("[data-md-component=outdated]")
    slot.wait_for(state="visible")
    assert "You are reading version 0.9, which is not the latest release." in slot.inner_text()
    services.wait_in_page(
        page,
        "document.querySelector('a[data-tideway-latest]').href.endsWith('/latest/guide/setup/')",
    )
    assert page.locator(".harbour-announce").is_visible()
    assert page.locator(".md-version__current").inner_text().strip() == "0.9"
    form = page.locator("form.md-feedback")
    form.wait_for(state="visible")
    form.locator("button[data-md-value='0']").click()
    wait_rows(server, 1, page="guide/setup/", version="0.9", rating=0)


# The plugin's configuration of the theme and of versions, without a build.


def plugin_config(tmp_path: Path, yml: str):
    project = write_writer_site(tmp_path / "site", yml)
    config = load_config(str(project / "mkdocs.yml"))
    return config.plugins.on_config(config), project


def test_the_plugins_theme_comes_after_the_writers_and_before_materials(tmp_path):
    config, project = plugin_config(tmp_path, MKDOCS_YML)
    dirs = [Path(d).resolve() for d in config.theme.dirs]
    assert dirs[0] == (project / "theme").resolve()
    assert dirs[1] == plugin.THEME_DIR
    assert dirs[2].parts[-2:] == ("material", "templates")


def test_without_a_custom_dir_the_plugins_theme_comes_first(tmp_path):
    yml = MKDOCS_YML.replace("  custom_dir: theme\n", "")
    config, _ = plugin_config(tmp_path, yml)
    assert Path(config.theme.dirs[0]) == plugin.THEME_DIR


def test_the_plugin_sets_the_version_provider_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="mkdocs.plugins.tideway"):
        config, _ = plugin_config(tmp_path, MKDOCS_YML + "  version:\n    default: stable\n")
    assert config.extra["version"] == {"provider": "mike", "default": "stable"}
    assert "extra.version.provider is not set: set to 'mike'" in caplog.text


def test_another_version_provider_stops_the_build_naming_the_key(tmp_path):
    with pytest.raises(PluginError, match=r"extra\.version\.provider is 'other'.*'mike'"):
        plugin_config(tmp_path, MKDOCS_YML + "  version:\n    provider: other\n")


def test_the_build_fails_with_the_message_for_another_provider(tmp_path):
    project = write_writer_site(tmp_path / "site", MKDOCS_YML + "  version:\n    provider: x\n")
    done = build(project, tmp_path / "out", "1.0")
    assert done.returncode != 0
    assert "extra.version.provider is 'x'" in done.stderr


def test_a_custom_dir_with_a_copy_of_the_theme_is_used_as_it_is(tmp_path):
    project = write_writer_site(tmp_path / "site")
    copied = project / "theme" / plugin.COPIED_THEME_MARK
    copied.parent.mkdir(parents=True)
    copied.write_text("")
    config = load_config(str(project / "mkdocs.yml"))
    config = config.plugins.on_config(config)
    assert str(plugin.THEME_DIR) not in config.theme.dirs
