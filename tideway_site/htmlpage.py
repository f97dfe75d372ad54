"""Read a built page's HTML: its tideway stamps, title, heading anchors, ids, links and text.

Works on any Material-like output (MkDocs or Zensical): the manifest command and the link
gate read built sites through this one parser, never through MkDocs internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Text in these elements is not the page's prose (permalinks, code copy buttons, scripts).
SKIPPED = {"script", "style", "button", "svg"}


@dataclass
class BuiltPage:
    title: str = ""
    stamps: dict[str, str] = field(default_factory=dict)  # <meta name="tideway:KEY">
    headings: list[str] = field(default_factory=list)  # ids of h1..h6 in the article
    ids: set[str] = field(default_factory=set)  # every id on the page
    links: list[str] = field(default_factory=list)  # href of every <a> in the article
    text: str = ""  # the article's prose
    redirect: bool = False  # a meta-refresh stub, not a page


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = BuiltPage()
        self._in_title = False
        self._article_depth = 0  # >0 while inside <article>
        self._skip_depth = 0
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.page.ids.add(attrs["id"])
        if tag == "meta":
            name = attrs.get("name") or ""
            if name.startswith("tideway:"):
                self.page.stamps[name.removeprefix("tideway:")] = attrs.get("content") or ""
            if (attrs.get("http-equiv") or "").lower() == "refresh":
                self.page.redirect = True
        elif tag == "title":
            self._in_title = True
        elif tag == "article":
            self._article_depth += 1
        if self._article_depth:
            if tag in HEADINGS and attrs.get("id"):
                self.page.headings.append(attrs["id"])
            if tag == "a" and attrs.get("href") is not None:
                self.page.links.append(attrs["href"])
            if tag in SKIPPED:
                self._skip_depth += 1

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "article" and self._article_depth:
            self._article_depth -= 1
        elif tag in SKIPPED and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data):
        if self._in_title:
            self.page.title += data
        elif self._article_depth and not self._skip_depth:
            self._text.append(data)

    def close(self):
        super().close()
        self.page.text = " ".join(" ".join(self._text).split())
        self.page.title = self.page.title.strip()


def read_page(path: Path) -> BuiltPage:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser.page


def page_url(site_dir: Path, path: Path) -> str:
    """The MkDocs page URL of a built file: `index.html` -> "", `a/b/index.html` -> "a/b/"."""
    rel = path.relative_to(site_dir).as_posix()
    if rel == "index.html":
        return ""
    if rel.endswith("/index.html"):
        return rel.removesuffix("index.html")
    return rel


def built_pages(site_dir: Path):
    """Every page of a built version, as (url, path): skips 404.html and nested versions."""
    for path in sorted(site_dir.rglob("*.html")):
        rel = path.relative_to(site_dir)
        if rel.as_posix() == "404.html" or rel.parts[0] in {"assets", "search"}:
            continue
        yield page_url(site_dir, path), path
