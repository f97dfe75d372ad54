"""Putting the feedback widget on a page whose template did not: a home page that overrides
Material's `content` block, the blog plugin's index, archive, category and pagination pages.

Material includes the widget (`partials/feedback.html`) from `partials/content.html`, which
only the `content` block of main.html and blog-post.html includes. The plugin renders the
same partial with the page's own context after the page is rendered, and puts it at the end
of the page's content container (`.md-content__inner`, an <article> or, on blog views, a
<div>), which is what Material does in the normal case. Pages that have the widget cost one
substring test.

A site built without the plugin (Zensical) has no template context after the build: there
the widget is copied from a page of the same build that has it (`extract`), with the two
values that differ from page to page set for the page it goes on (`for_page`), and placed
the same way (fill.py).
"""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

# Material's form (ours keeps its markup): present when the template included the partial.
# Quoted, as Jinja writes it: the plugin looks before any minifier runs (plugin.py).
WIDGET_MARKS = ('class="md-feedback"', 'class="tideway-feedback"')
CONTAINER = re.compile(r"<(article|div)\b[^>]*?\bmd-content__inner\b[^>]*>")


# Stand-ins for the two per-page values while the widget is rendered once for a whole build;
# partials/feedback.html puts each page's own in their place (`replace`, escaping them).
PAGE_SLOT = "tideway:page-url"
BASE_SLOT = "tideway:base-url"


# Whitespace between two tags that holds a line break: the template's indentation and the
# blank lines of its loops. Between the widget's elements (blocks, flex items) it shows
# nothing, and every page carried it: a sixth of the widget's bytes (5.6 KB a page before).
# Where a space shows, between inline elements, the template keeps them on one line.
BETWEEN_TAGS = re.compile(r">\s*\n\s*<")


def prerender(env, config) -> Markup | None:
    """The widget as partials/feedback.html renders it, with the slots for the page's values:
    its dictionaries of strings and its loops then run once per build, not once per page.
    None when the site's own feedback.html replaces ours (it knows nothing of the slots)."""
    page = {"url": PAGE_SLOT, "meta": {}}
    rendered = env.get_template("partials/feedback.html").render(
        config=config, page=page, base_url=BASE_SLOT
    )
    if PAGE_SLOT not in rendered or BASE_SLOT not in rendered:
        return None
    return Markup(BETWEEN_TAGS.sub("><", rendered.strip()))


# Material's template for a page that sends its reader elsewhere at once: nobody reads it.
REDIRECT_TEMPLATE = "redirect.html"


def hidden(meta: dict) -> bool:
    """No widget for this page: its front matter says `hide: [feedback]` (as in Material), or
    it is a redirect page."""
    if not meta:
        return False
    hide = meta.get("hide")
    asked = isinstance(hide, (list, tuple, str)) and "feedback" in hide
    return asked or meta.get("template") == REDIRECT_TEMPLATE


def has_widget(html: str) -> bool:
    # From the end: the widget closes the content, after a nav that on a large site is most
    # of the page (100 KB at 300 pages), so a forward search read all of it on every page.
    return any(html.rfind(mark) != -1 for mark in WIDGET_MARKS)


# The rendered widget's only per-page values (partials/feedback.html): the page's URL, and
# the manifest's address relative to the page (Material's `base_url`).
PAGE_ATTR = re.compile(r'(\bdata-tideway-page=")[^"]*(")')
MANIFEST_ATTR = re.compile(r'(\bdata-tideway-manifest=")([^"]*)(")')
MANIFEST_FILE = "feedback-manifest.json"


def extract(html: str) -> str | None:
    """The widget's markup on a page that has it: the element holding the first mark (our
    `div.tideway-feedback`, or Material's own `form.md-feedback`), whole."""
    at = min((i for i in (html.find(mark) for mark in WIDGET_MARKS) if i >= 0), default=-1)
    if at < 0:
        return None
    start = html.rfind("<", 0, at)
    tag = re.match(r"<(\w+)", html[start:])
    end = _closing_tag(html, tag.group(1), start) if tag else None
    if end is None:
        return None
    return html[start : html.index(">", end) + 1]


def base_url(depth: int) -> str:
    """A page's way back to its version's root, as MkDocs and Zensical write `base_url`:
    `.` for a page at the root, `..` one directory down."""
    return "/".join([".."] * depth) or "."


def for_page(widget: str, url: str, depth: int, donor_depth: int) -> str:
    """`widget`, taken from a page `donor_depth` directories down, set for the page `url`
    that is `depth` directories down. A manifest address that is not relative stays."""

    def manifest(match: re.Match) -> str:
        value = match.group(2)
        if value == f"{base_url(donor_depth)}/{MANIFEST_FILE}":
            value = escape(f"{base_url(depth)}/{MANIFEST_FILE}")
        return match.group(1) + value + match.group(3)

    widget = PAGE_ATTR.sub(lambda m: m.group(1) + escape(url) + m.group(2), widget, count=1)
    return MANIFEST_ATTR.sub(manifest, widget, count=1)


def _closing_tag(html: str, tag: str, start: int) -> int | None:
    """Where the element opened at `start` closes, counting nested elements of its tag."""
    depth = 0
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", html[start:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return start + match.start()
    return None


# A minifier that parses every page in Python (mkdocs-minify-plugin's htmlmin) spent a
# quarter of its time on the widget's fifty tags, which the plugin renders compact already.
# While it runs, this element stands in the widget's place (plugin.py: hold, then put back).
HELD = "<tideway-widget-held></tideway-widget-held>"
OURS = '<div class="tideway-feedback">'


def hold(html: str) -> tuple[str, str | None]:
    """The page with its widget (ours, as rendered) taken out and HELD in its place, and the
    widget; the page as it is, and None, when it has none."""
    at = html.rfind(OURS)  # from the end, as has_widget
    end = _closing_tag(html, "div", at) if at != -1 else None
    if end is None:
        return html, None
    end = html.index(">", end) + 1
    return html[:at] + HELD + html[end:], html[at:end]


def put_back(html: str, widget: str) -> str | None:
    """The page with `widget` where hold() left its stand-in; None when that is gone."""
    at = html.rfind(HELD)
    if at == -1:
        return None
    return html[:at] + widget + html[at + len(HELD) :]


def place(html: str, widget: str) -> str | None:
    """The page with `widget` at the end of its content container; None when it has none."""
    container = CONTAINER.search(html)
    if container is None:
        return None
    end = _closing_tag(html, container.group(1), container.start())
    if end is None:
        return None
    # Blog views' container is no `md-typeset`, which the widget's buttons are styled under.
    if "md-typeset" not in container.group(0):
        widget = f'<div class="md-typeset">{widget}</div>'
    return html[:end] + widget + html[end:]
