"""The widget on the built pages whose template lacks it, in a site built without the plugin
(Zensical): the `manifest` command's first step, before it reads the pages.

The same rule as the plugin's (widget.py): every page carries the widget, except a page whose
front matter says `hide: [feedback]` and a redirect page, or it is named with the reason. The
widget is the one of this build, copied from a page that has it and set for each page it goes
on. A site on which no page has it (no `extra.analytics.feedback`) gets none. A page that
already has it is left as it is, so running the command twice places nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import manifest, widget
from .htmlpage import built_pages, page_url, read_page

# The plugin's wording (plugin.py), one page a line.
NO_CONTAINER = (
    "{url} has no feedback widget: its template has no content container (an element of "
    "class md-content__inner) to put it in. Give the template one, or add "
    "`hide: [feedback]` to the page's front matter."
)
NO_SOURCES = (
    "{url} has no feedback widget: its template does not include it, and without --docs "
    "the command cannot tell whether its front matter hides it (`hide: [feedback]`). Give "
    "--docs."
)


@dataclass
class Filled:
    placed: list[str] = field(default_factory=list)  # page URLs ("/" for the home page)
    unplaced: list[str] = field(default_factory=list)  # no content container
    unknown: list[str] = field(default_factory=list)  # no --docs: whether hidden is unknown

    def messages(self) -> list[str]:
        return [NO_CONTAINER.format(url=u) for u in self.unplaced] + [
            NO_SOURCES.format(url=u) for u in self.unknown
        ]


def _depth(site_dir: Path, path: Path) -> int:
    return len(path.relative_to(site_dir).parts) - 1


def _hidden(docs_dir: Path, src: str) -> bool:
    source = docs_dir / src
    if not source.is_file():
        return False  # a generated page: no front matter to hide it
    meta, _ = manifest.front_matter(source.read_text(encoding="utf-8", errors="replace"))
    return widget.hidden(meta)


def fill_site(site_dir: Path, docs_dir: Path | None) -> Filled:
    """Put the widget on every page of the built version in `site_dir` that should have it
    and lacks it; the pages it could not go on, and why, in the result."""
    filled = Filled()
    donor = None  # (widget markup, its page's depth)
    lacking = []  # (path, html, BuiltPage)
    everyone = []  # {"url", "title"} for page_sources: a lacking page's title names its source
    for url, path in built_pages(site_dir):
        html = path.read_text(encoding="utf-8")
        if widget.has_widget(html):
            if donor is None:
                donor = (widget.extract(html), _depth(site_dir, path))
            everyone.append({"url": url, "title": ""})
            continue
        built = read_page(path)
        if built.redirect:
            continue  # nobody reads it
        lacking.append((path, html, built))
        title = built.stamps.get("title") or built.title.split(" - ")[0].strip()
        everyone.append({"url": url, "title": title})
    if donor is None or donor[0] is None or not lacking:
        return filled
    sources = manifest.page_sources(everyone, docs_dir) if docs_dir is not None else {}
    for path, html, built in lacking:
        url = page_url(site_dir, path)
        shown = built.stamps.get("page", url) or "/"
        if docs_dir is None:
            filled.unknown.append(shown)
            continue
        if _hidden(docs_dir, built.stamps.get("source") or sources[url]):
            continue
        markup = widget.for_page(
            donor[0], built.stamps.get("page", url), _depth(site_dir, path), donor[1]
        )
        placed = widget.place(html, markup)
        if placed is None:
            filled.unplaced.append(shown)
            continue
        path.write_text(placed, encoding="utf-8")
        filled.placed.append(shown)
    for urls in (filled.placed, filled.unplaced, filled.unknown):
        urls.sort()  # in the order of URLs, not of files
    return filled
