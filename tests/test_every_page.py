"""Every page of a writer's site carries the widget, or the build says which do not and why:
a home page whose template overrides Material's `content` block, and the blog plugin's
index, archive, category and pagination pages (Material's blog plugin, offline). Generated
pages, an owners file, `exempt` and `warn_only` on the plugin's own warnings; the banner with
mkdocs-minify-plugin running first. Real `mkdocs build`s of a small site in tmp_path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_git
from tests.test_plugin import mkdocs_build
from tideway_site import widget
from tideway_site.htmlpage import built_pages
from tideway_site.owners import compile_pattern, parse_owners

CONFIG = """\
site_name: Harbour Blog
theme:
  name: material
  custom_dir: theme
  font: false
plugins:
  - search
  - blog:
      pagination_per_page: 2
{tideway}
extra:
  analytics:
    feedback:
      title: Was this page helpful?
      ratings:
        - icon: material/thumb-up-outline
          name: Helpful
          data: 1
        - icon: material/thumb-down-outline
          name: Not helpful
          data: 0
"""
# The writer's landing page: a hero, and an empty `content` block (as Material's own docs'
# home page has), so Material's content partial, which brings the widget, is never included.
HOME = """\
{% extends "main.html" %}
{% block tabs %}{{ super() }}<section class="harbour-hero">Harbour</section>{% endblock %}
{% block content %}{% endblock %}
"""
# A page laid out from scratch: no content container for the widget.
BARE = """\
{% extends "main.html" %}
{% block container %}<div class="harbour-bare">{{ page.content }}</div>{% endblock %}
"""
OWNERS = """\
# pattern   owner
*           docs-team
/blog/      marketing
"""


def write_site(root: Path, tideway: str = "  - tideway") -> Path:
    (root / "theme").mkdir(parents=True)
    (root / "theme" / "home.html").write_text(HOME)
    (root / "theme" / "bare.html").write_text(BARE)
    docs = root / "docs"
    (docs / "blog" / "posts").mkdir(parents=True)
    (docs / "index.md").write_text("---\ntemplate: home.html\n---\n# Harbour\n")
    (docs / "guide.md").write_text("---\nowner: guide-team\n---\n# Guide\n\nText.\n")
    (docs / "quiet.md").write_text("---\nhide: [feedback]\ntemplate: bare.html\n---\n# Quiet\n")
    (docs / "blog" / "index.md").write_text("# Blog\n")
    for n in range(1, 6):
        (docs / "blog" / "posts" / f"post-{n}.md").write_text(
            f"---\ndate: 2024-0{n}-01\ncategories: [Cat{n % 2}]\n---\n"
            f"# Post {n}\n\nHello.\n\n<!-- more -->\n\nMore.\n"
        )
    (root / "OWNERS").write_text(OWNERS)
    (root / "mkdocs.yml").write_text(CONFIG.format(tideway=tideway))
    run_git(root, "init", "-q", "-b", "main")
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "docs")
    return root


WITH_OWNERS = "  - tideway:\n      owners_file: OWNERS\n"


@pytest.fixture(scope="module")
def blog_site(tmp_path_factory):
    root = write_site(tmp_path_factory.mktemp("blog") / "site", WITH_OWNERS)
    done = mkdocs_build(root)
    assert done.returncode == 0, done.stderr
    return root, done.stderr


def widget_pages(html: str) -> list[str]:
    return re.findall(
        r'<form class="md-feedback" name="feedback" hidden\s+data-tideway-page="([^"]*)"', html
    )


def test_every_page_has_the_widget_once_with_its_own_url(blog_site):
    root, _ = blog_site
    site = root / "site"
    seen = {}
    for url, path in built_pages(site):
        seen[url] = widget_pages(path.read_text())
    generated = [
        "blog/archive/2024/", "blog/archive/2024/page/2/", "blog/category/cat0/",
        "blog/category/cat1/", "blog/page/2/", "blog/page/3/",
    ]  # fmt: skip
    for url in ["", "blog/", "guide/", "blog/2024/01/01/post-1/", *generated]:
        assert seen[url] == [url], url
    assert seen["quiet/"] == []  # the writer hid it
    assert [url for url, forms in seen.items() if forms != [url]] == ["quiet/"]
    assert len(seen) == 17
    # The home page keeps the writer's hero; the widget is in its (empty) article.
    home = (site / "index.html").read_text()
    assert 'class="harbour-hero"' in home
    article = re.search(
        r'<article class="md-content__inner md-typeset">(.*?)</article>', home, re.S
    )
    assert 'class="tideway-feedback"' in article.group(1)
    # On the blog's views the widget is styled as in an article.
    blog = (site / "blog" / "index.html").read_text()
    assert '<div class="md-typeset">' in blog.split('class="md-pagination"')[1]


def test_a_page_without_a_content_container_is_named_once(tmp_path):
    root = write_site(tmp_path / "site", WITH_OWNERS)
    quiet = root / "docs" / "quiet.md"
    quiet.write_text(quiet.read_text().replace("hide: [feedback]\n", ""))
    done = mkdocs_build(root)
    assert done.returncode == 0, done.stderr
    warnings = [ln for ln in done.stderr.splitlines() if "no feedback widget" in ln]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith("WARNING -  tideway: 1 page(s) have no feedback widget")
    assert "quiet/" in warnings[0] and "md-content__inner" in warnings[0]
    assert "hide: [feedback]" in warnings[0]


def test_a_redirect_page_needs_no_widget_and_no_warning(tmp_path):
    root = write_site(tmp_path / "site", WITH_OWNERS)
    quiet = root / "docs" / "quiet.md"
    quiet.write_text("---\ntemplate: redirect.html\nlocation: ../\n---\n# Moved\n")
    done = mkdocs_build(root)
    assert done.returncode == 0, done.stderr
    assert "no feedback widget" not in done.stderr
    assert "md-feedback" not in (root / "site" / "quiet" / "index.html").read_text()


def test_generated_pages_pass_and_the_owners_file_names_owners(blog_site):
    root, stderr = blog_site
    assert "WARNING" not in stderr, stderr
    doc = json.loads((root / "site" / "feedback-manifest.json").read_text())
    pages = {p["url"]: p for p in doc["pages"]}
    assert pages[""]["owner"] == "docs-team"  # `*`
    assert pages["guide/"]["owner"] == "guide-team"  # front matter wins
    assert pages["blog/2024/01/01/post-1/"]["owner"] == "marketing"  # /blog/, the last match
    archive = pages["blog/archive/2024/"]
    assert archive["generated"] is True and archive["owner"] == "marketing"
    assert "generated" not in pages["guide/"]
    assert pages["blog/2024/01/01/post-1/"]["reviewed"]  # its commit


def test_without_an_owners_file_posts_warn_and_generated_pages_do_not(tmp_path):
    root = write_site(tmp_path / "site")
    done = mkdocs_build(root, "--strict")
    assert done.returncode != 0
    no_owner = re.findall(r"WARNING -  tideway: (\S+) has no owner", done.stderr)
    posts = [f"blog/posts/post-{n}.md" for n in range(1, 6)]
    assert sorted(no_owner) == sorted(["blog/index.md", "index.md", "quiet.md", *posts])
    assert "feedback_api" not in done.stderr and "tideway_site:" not in done.stderr


def test_exempt_patterns_and_warn_only_let_a_strict_build_pass(tmp_path):
    tideway = "  - tideway:\n      exempt: [/index.md, quiet.md]\n      warn_only: [owners]\n"
    root = write_site(tmp_path / "site", tideway)
    done = mkdocs_build(root, "--strict")
    assert done.returncode == 0, done.stderr
    notes = re.findall(r"INFO    -  tideway: (\S+) has no owner.*\(warn-only\)", done.stderr)
    assert sorted(notes) == ["blog/index.md"] + [f"blog/posts/post-{n}.md" for n in range(1, 6)]


@pytest.mark.parametrize(
    "value, message",
    [("[owner]", "no gate is called owner"), ("sometimes", "expected true, false or a list")],
)
def test_a_bad_warn_only_names_the_option(tmp_path, value, message):
    root = write_site(tmp_path / "site", f"  - tideway:\n      warn_only: {value}\n")
    done = mkdocs_build(root)
    assert done.returncode != 0 and "warn_only" in done.stderr and message in done.stderr


def test_an_owners_file_line_with_two_owners_stops_the_build(tmp_path):
    root = write_site(tmp_path / "site", WITH_OWNERS)
    (root / "OWNERS").write_text("*  docs-team\nblog/  marketing sales\n")
    done = mkdocs_build(root)
    assert done.returncode != 0
    assert "OWNERS, line 2: 'blog/' names 2 owners" in done.stderr


@pytest.mark.parametrize(
    "pattern, matches, misses",
    [
        ("*", ["index.md", "a/b/c.md"], []),
        ("*.md", ["index.md", "a/b.md"], ["a/b.txt"]),
        ("/blog/", ["blog/index.md", "blog/posts/x.md"], ["blog", "news/blog/x.md", "blog.md"]),
        ("blog/", ["blog/x.md", "news/blog/x.md"], ["blog.md"]),
        ("guide/*.md", ["guide/a.md"], ["guide/a/b.md", "x/guide/a.md"]),
        ("reference/**/api.md", ["reference/api.md", "reference/v1/x/api.md"], ["api.md"]),
        ("**/drafts", ["drafts/a.md", "x/y/drafts/a.md"], ["drafts.md"]),
        ("faq.md", ["faq.md", "x/faq.md"], ["faq.mdx", "myfaq.md"]),
        ("/faq.md", ["faq.md"], ["x/faq.md"]),
        ("page-?.md", ["page-1.md"], ["page-10.md"]),
    ],
)  # fmt: skip
def test_owner_patterns_read_like_codeowners(pattern, matches, misses):
    regex = compile_pattern(pattern)
    assert [p for p in matches if not regex.match(p)] == []
    assert [p for p in misses if regex.match(p)] == []


def test_the_last_matching_line_wins_and_an_ownerless_line_unsets():
    owners = parse_owners("* docs\nblog/ marketing\nblog/drafts/\n# a comment\n\n")
    assert owners.owner_of("index.md") == "docs"
    assert owners.owner_of("blog/post.md") == "marketing"
    assert owners.owner_of("blog/drafts/idea.md") == ""


def test_the_banner_is_placed_when_a_minifier_runs_first(tmp_path):
    pytest.importorskip("mkdocs_minify_plugin")
    tideway = "  - minify:\n      minify_html: true\n  - tideway:\n      owners_file: OWNERS\n"
    root = write_site(tmp_path / "site", tideway)
    done = mkdocs_build(root, version="0.9")
    assert done.returncode == 0, done.stderr
    for url in ("guide/", "blog/archive/2024/"):
        html = (root / "site" / url / "index.html").read_text()
        assert "\n  " not in html.replace(widget.extract(html), "")  # minified, but the widget
        assert html.count("data-tideway-banner=") == 1, url
        assert "You are reading version <strong data-tideway-current>0.9" in html
        assert html.count("tideway-feedback") == 1, url


def test_the_minifier_runs_without_parsing_the_widget(tmp_path):
    # The widget is held out of the page while the minifier runs: each page has the widget
    # exactly as a build without the minifier renders it, and the rest of the page minified.
    pytest.importorskip("mkdocs_minify_plugin")
    plain = write_site(tmp_path / "plain", "  - tideway:\n      owners_file: OWNERS\n")
    tideway = "  - minify:\n      minify_html: true\n  - tideway:\n      owners_file: OWNERS\n"
    minified = write_site(tmp_path / "minified", tideway)
    for root in (plain, minified):
        done = mkdocs_build(root, version="0.9")
        assert done.returncode == 0, done.stderr
        assert "no feedback widget" not in done.stderr
    for url in ("", "guide/", "blog/", "blog/archive/2024/"):
        small = (minified / "site" / url / "index.html").read_text()
        whole = (plain / "site" / url / "index.html").read_text()
        assert len(small) < len(whole) - 1000, url  # minified
        assert widget.HELD not in small
        assert widget.extract(small) == widget.extract(whole) is not None, url


def test_a_page_whose_widget_could_not_be_put_back_is_named(tmp_path):
    pytest.importorskip("mkdocs_minify_plugin")
    tideway = "  - minify:\n      minify_html: true\n  - tideway:\n      owners_file: OWNERS\n"
    root = write_site(tmp_path / "site", tideway)
    # A hook (a plugin after the minifier) that drops what it does not know.
    (root / "strip.py").write_text(
        "def on_post_page(output, **kwargs):\n"
        "    return output.replace('<tideway-widget-held></tideway-widget-held>', '')\n"
    )
    with (root / "mkdocs.yml").open("a") as yml:
        yml.write("hooks:\n  - strip.py\n")
    done = mkdocs_build(root, version="0.9")
    assert done.returncode == 0, done.stderr
    assert "have no feedback widget: the minifier, or a plugin after it, removed" in done.stderr
    assert "guide/" in done.stderr


def test_the_manifest_maps_moved_pages_for_the_banner(tmp_path):
    pytest.importorskip("mkdocs_redirects")
    tideway = (
        "  - redirects:\n      redirect_maps:\n        old-guide.md: guide.md\n"
        "        gone.md: https://example.invalid/\n"
        "  - tideway:\n      owners_file: OWNERS\n      redirects:\n        start.md: guide.md\n"
    )
    root = write_site(tmp_path / "site", tideway)
    done = mkdocs_build(root, "--strict")
    assert done.returncode == 0, done.stderr
    doc = json.loads((root / "site" / "feedback-manifest.json").read_text())
    assert doc["redirects"] == {"old-guide/": "guide/", "start/": "guide/"}
    assert (root / "site" / "old-guide" / "index.html").is_file()  # mkdocs-redirects' stub


@pytest.fixture(scope="module")
def blog_server(tmp_path_factory):
    """Versions 1.0 (latest) and 0.9 of the blog site, as mike lays them out, served with
    the live API."""
    from tests.test_widget import start_server, stop

    base = tmp_path_factory.mktemp("blog-live")
    root = write_site(base / "project", WITH_OWNERS)
    site = base / "site"
    for version in ("1.0", "0.9"):
        done = mkdocs_build(root, "--site-dir", str(site / version), version=version)
        assert done.returncode == 0, done.stderr
    (site / "latest").symlink_to("1.0")
    versions = [
        {"version": "1.0", "title": "1.0", "aliases": ["latest"]},
        {"version": "0.9", "title": "0.9", "aliases": []},
    ]
    (site / "versions.json").write_text(json.dumps(versions))
    server = start_server(site, base)
    yield server
    stop(server)


@pytest.mark.browser
def test_a_reader_rates_generated_pages_and_no_page_throws(browser, blog_server):
    from tests.test_widget import view, wait_rows

    server = view(blog_server)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else 0)
    try:
        urls = ["", "blog/archive/2024/page/2/", "blog/category/cat1/"]
        for count, url in enumerate(urls, start=1):
            page.goto(f"{server.url}/latest/{url}")
            form = page.locator("form.md-feedback")
            form.wait_for(state="visible")
            form.locator("button[data-md-value='1']").click()
            wait_rows(server, count, page=url, version="1.0", rating=1)
        # An older version: Material's outdated script runs to its end (its URL from a
        # relative base_url threw "Failed to construct 'URL'" on every page).
        page.goto(f"{server.url}/0.9/blog/")
        page.locator("[data-md-component=outdated]").wait_for(state="visible")
        page.wait_for_load_state("networkidle")
        assert errors == []
    finally:
        page.close()
