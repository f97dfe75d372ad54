"""The manifest command puts the widget on the built pages whose template lacks it, as a site
built without the plugin (Zensical) leaves them: small built sites in tmp_path, each page as
Material lays it out. The real site built by Zensical is test_adoption.py's."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from tideway_site.cli import manifest_main

# The rendered widget as partials/feedback.html writes it, with its two per-page values, and
# divs nested inside it as the real one has.
WIDGET = """<div class="tideway-feedback">
  <form class="md-feedback" name="feedback" hidden
        data-tideway-page="{url}"
        data-tideway-version=""
        data-tideway-api="/api/v1"
        data-tideway-manifest="{base}/feedback-manifest.json">
    <fieldset><legend class="md-feedback__title">Was this page helpful?</legend>
      <div class="md-feedback__inner"><div class="md-feedback__list">
        <button class="md-feedback__icon" type="submit" data-md-value="1"></button>
      </div></div>
    </fieldset>
  </form>
  <div class="tideway-panel"><p class="tideway-status"></p></div>
</div>"""
ARTICLE = '<article class="md-content__inner md-typeset">'
BLOG_VIEW = '<div class="md-content__inner">'  # the blog plugin's index, archive, category


def page(title: str, url: str, body: str, container: str | None = ARTICLE) -> str:
    tag = container.split()[0][1:] if container else ""
    content = f"{container}{body}</{tag}>" if container else f'<div class="bare">{body}</div>'
    return (
        f"<!doctype html><html><head><title>{title} - Harbour</title>"
        f'<meta name="tideway:page" content="{url}"></head><body>'
        f'<div class="md-content" data-md-component="content">{content}</div>'
        "<footer>footer</footer></body></html>"
    )


def write_site(root: Path, pages: dict[str, str]) -> Path:
    for rel, html in pages.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(html, encoding="utf-8")
    return root


def widget_values(html: str) -> list[dict[str, str]]:
    """The attributes of each feedback form on the page, as a browser reads them."""
    forms = []

    class Forms(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "form" and ("class", "md-feedback") in attrs:
                forms.append(dict(attrs))

    Forms(convert_charrefs=True).feed(html)
    return forms


def blog_site(tmp_path: Path) -> tuple[Path, Path]:
    """A built version: a guide with the widget; a home page whose template emptied the
    content block, a blog index and an archive view without it; a page its front matter
    hides it on; a redirect page. And the docs sources."""
    docs = write_site(
        tmp_path / "docs",
        {
            "index.md": "---\ntemplate: home.html\n---\n\n# Harbour\n",
            "guide.md": "# Mooring guide\n",
            "quiet.md": "---\nhide:\n  - feedback\n---\n\n# Quiet page\n",
            "blog/index.md": "# News\n",
        },
    )
    site = write_site(
        tmp_path / "site",
        {
            "index.html": page("Home", "", ""),
            "guide/index.html": page(
                "Mooring guide", "guide/", "<p>Tie up.</p>" + WIDGET.format(url="guide/", base="..")
            ),
            "quiet/index.html": page("Quiet page", "quiet/", "<p>Shh.</p>"),
            "blog/index.html": page("News", "blog/", "<article>Post</article>", BLOG_VIEW),
            "blog/archive/2024/index.html": page(
                "2024", "blog/archive/2024/", "<article>Post</article>", BLOG_VIEW
            ),
            "old/index.html": (
                '<html><head><meta http-equiv="refresh" content="0;url=../guide/"></head></html>'
            ),
        },
    )
    return site, docs


def test_pages_whose_template_lacks_the_widget_get_it_set_for_them(tmp_path, capsys):
    site, docs = blog_site(tmp_path)
    assert manifest_main([str(site), "--version", "1.0", "--docs", str(docs)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.splitlines()[0] == (
        "Placed the feedback widget on 3 page(s) whose template lacks it: /, blog/, "
        "blog/archive/2024/."
    )
    expected = {
        "index.html": ("", "./feedback-manifest.json"),
        "blog/index.html": ("blog/", "../feedback-manifest.json"),
        "blog/archive/2024/index.html": ("blog/archive/2024/", "../../../feedback-manifest.json"),
        "guide/index.html": ("guide/", "../feedback-manifest.json"),
    }
    for rel, (url, manifest) in expected.items():
        html = (site / rel).read_text()
        [form] = widget_values(html)
        assert (form["data-tideway-page"], form["data-tideway-manifest"]) == (url, manifest)
        # Inside the content container, before the footer; styled as Material's content is.
        assert html.index("tideway-feedback") < html.index("<footer>")
    archive = (site / "blog/archive/2024/index.html").read_text()
    assert '<div class="md-typeset"><div class="tideway-feedback">' in archive
    # The widget, its md-typeset wrapper, the container, .md-content: in that order.
    assert archive.endswith("\n</div></div></div></div><footer>footer</footer></body></html>")
    # Hidden by its front matter, or a redirect: nobody asked for it there.
    assert widget_values((site / "quiet/index.html").read_text()) == []
    assert widget_values((site / "old/index.html").read_text()) == []
    doc = json.loads((site / "feedback-manifest.json").read_text())
    assert {"", "blog/", "blog/archive/2024/"} <= {p["url"] for p in doc["pages"]}


def test_running_the_command_again_places_nothing_twice(tmp_path, capsys):
    site, docs = blog_site(tmp_path)
    argv = [str(site), "--version", "1.0", "--docs", str(docs)]
    assert manifest_main(argv) == 0
    first = {p: p.read_text() for p in site.rglob("*.html")}
    assert len(widget_values(first[site / "index.html"])) == 1
    manifest = (site / "feedback-manifest.json").read_text()
    capsys.readouterr()
    assert manifest_main(argv) == 0
    assert {p: p.read_text() for p in site.rglob("*.html")} == first
    assert (site / "feedback-manifest.json").read_text() == manifest  # same hashes too
    assert capsys.readouterr().out.startswith("Wrote ")


def test_a_page_without_a_content_container_is_named_with_the_reason(tmp_path, capsys):
    site, docs = blog_site(tmp_path)
    (site / "bare").mkdir()
    (site / "bare/index.html").write_text(page("Bare", "bare/", "<p>Laid out by hand.</p>", None))
    assert manifest_main([str(site), "--version", "1.0", "--docs", str(docs)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "bare/ has no feedback widget: its template has no content container (an element of "
        "class md-content__inner) to put it in. Give the template one, or add "
        "`hide: [feedback]` to the page's front matter."
    ]
    assert widget_values((site / "bare/index.html").read_text()) == []


def test_without_the_sources_no_page_is_guessed_and_each_is_named(tmp_path, capsys):
    # Whether a page's front matter hides the widget is only in its source.
    site, _ = blog_site(tmp_path)
    assert manifest_main([str(site), "--version", "1.0"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4 and lines[1] == (
        "blog/ has no feedback widget: its template does not include it, and without --docs "
        "the command cannot tell whether its front matter hides it (`hide: [feedback]`). "
        "Give --docs."
    )
    assert [line.split()[0] for line in lines] == [
        "/", "blog/", "blog/archive/2024/", "quiet/",
    ]  # fmt: skip
    assert widget_values((site / "index.html").read_text()) == []


def test_a_page_url_is_escaped_in_the_markup(tmp_path, capsys):
    site, docs = blog_site(tmp_path)
    odd = 'a"b<i>&c/'
    (site / odd).mkdir()
    (site / odd / "index.html").write_text(
        page("Odd", "a&quot;b&lt;i&gt;&amp;c/", "<p>Odd</p>", BLOG_VIEW)
    )
    assert manifest_main([str(site), "--version", "1.0", "--docs", str(docs)]) == 0
    html = (site / odd / "index.html").read_text()
    assert 'data-tideway-page="a&quot;b&lt;i&gt;&amp;c/"' in html
    [form] = widget_values(html)
    assert form["data-tideway-page"] == odd
    assert not re.search(r"<i>&c", html.split("<body>")[1])


def test_the_sites_own_widget_is_copied_and_a_site_without_one_gets_none(tmp_path, capsys):
    # A site whose custom_dir keeps Material's feedback partial: no per-page values in it.
    form = (
        '<form class="md-feedback" name="feedback" hidden><fieldset><legend>Helpful?</legend>'
        '<button data-md-value="1"></button></fieldset></form>'
    )
    site = write_site(
        tmp_path / "site",
        {
            "index.html": page("Home", "", ""),
            "guide/index.html": page("Guide", "guide/", "<p>Tie up.</p>" + form),
        },
    )
    assert manifest_main([str(site), "--version", "1.0", "--docs", str(tmp_path)]) == 0
    assert f"{ARTICLE}{form}</article>" in (site / "index.html").read_text()
    # No page has it: the site has no `extra.analytics.feedback`, and wants none.
    plain = write_site(tmp_path / "plain", {"index.html": page("Home", "", "<p>Hi</p>")})
    capsys.readouterr()
    assert manifest_main([str(plain), "--version", "1.0", "--docs", str(tmp_path)]) == 0
    assert widget_values((plain / "index.html").read_text()) == []
    assert capsys.readouterr().out.startswith("Wrote ")
