"""What readers of old, new and moved pages see: banners, the version switch, redirects, 404.

The plugin brings its theme (`theme/`, see plugin.py): every page loads the version script
(`partials/tideway-scripts.html`, from the `partials/integrations/analytics.html` hook), and
the plugin renders the banner partial into Material's `outdated` slot, which Material leaves
empty unless a site's own main.html fills its `outdated` block (then that one stands). A
version built from an old git ref, whose copied overrides load no version script, gets the
script inline. Which page of the latest version the banner points to is decided in the
browser from that version's manifest, because an old version is not rebuilt when a newer one
is published.
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path

import jinja2

from .precompiled import PrecompiledTemplates

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The theme the plugin brings: the plugin renders the same banner partial the theme has.
THEME = Path(__file__).resolve().parent / "theme"
VERSIONS_ASSET = "assets/tideway/versions.js"

# Material renders this slot (hidden) on every page of a mike site, and un-hides it when the
# version is not the default one; it stays empty unless a theme fills its `outdated` block.
# The plugin reads pages before any minifier, but a theme's own templates may come minified
# (attribute quotes dropped): either way is matched.
OUTDATED_SLOT_ATTR = re.compile(r"""data-md-component=["']?outdated\b""")
EMPTY_OUTDATED_SLOT = re.compile(
    r"""(<div[^>]*data-md-component=["']?outdated\b[^>]*>)\s*(</div>)"""
)


def banner_environment() -> jinja2.Environment:
    """Where the plugin renders the theme's banner partial itself (into the outdated slot)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(THEME), autoescape=True, trim_blocks=True,
        lstrip_blocks=True,
    )  # fmt: skip


# Loaded on first use, not at import: a build whose theme fills the slot never renders it.
@functools.cache
def _banner_template() -> jinja2.Template:
    env = banner_environment()
    env.bytecode_cache = PrecompiledTemplates("banner")
    return env.get_template("partials/tideway-banner.html")


# Runs on every page (and again after each instant navigation): points the banner link to
# the same page in the latest release when that page exists there, and makes the version
# selector keep the page. Both read feedback-manifest.json of the target version.
@functools.cache
def versions_script() -> str:
    return "<script>\n" + (THEME / VERSIONS_ASSET).read_text(encoding="utf-8") + "</script>"


def banner_html(version: str, dev: bool, default_alias: str, page_url: str) -> str:
    """The theme's banner partial, as the theme renders it on the page at `page_url`."""
    base_url = "/".join([".."] * page_url.count("/")) or "."  # MkDocs' relative root
    return _banner_at(version, dev, default_alias, base_url)


# Pages at the same depth get the same banner: rendered once per depth, not once per page.
@functools.lru_cache(maxsize=64)
def _banner_at(version: str, dev: bool, default_alias: str, base_url: str) -> str:
    config = {
        "extra": {
            "tideway": {"version": version, "dev": dev},
            "version": {"default": default_alias},
        }
    }
    inner = _banner_template().render(config=config, base_url=base_url).strip()
    # The box Material puts around a theme's `outdated` block.
    return (
        '<aside class="md-banner md-banner--warning">'
        f'<div class="md-banner__inner md-grid md-typeset">{inner}</div></aside>'
    )


def inject(output: str, version: str, dev: bool, default_alias: str, page_url: str) -> str:
    """Fill Material's outdated slot when no template filled it, and add the version script
    inline where the page does not load it; a page whose theme fills the slot, or a theme
    without the slot: as is."""
    # The attribute first: the slot's regex alone, tried at every <div of a page, costs more.
    found = OUTDATED_SLOT_ATTR.search(output)
    at = found.start() if found else -1
    match = EMPTY_OUTDATED_SLOT.match(output, output.rfind("<div", 0, at)) if at != -1 else None
    if not match:
        return output
    banner = banner_html(version, dev, default_alias, page_url)
    body_end = output.rfind("</body>")
    if body_end < match.end() or VERSIONS_ASSET in output:
        # One copy of the page (slices and + make three): this runs on every page.
        return output.replace(match.group(0), match.group(1) + banner + match.group(2), 1)
    return "".join(
        (
            output[: match.end(1)],
            banner,
            output[match.start(2) : body_end],
            versions_script(),
            output[body_end:],
        )
    )


def src_to_url(src: str, directory_urls: bool = True) -> str:
    """The URL MkDocs gives a source path: `a/b.md` -> `a/b/` (or `a/b.html` without
    directory URLs)."""
    stem = src.removesuffix(".md")
    if stem == "index":
        return "" if directory_urls else "index.html"
    if stem.endswith("/index"):
        return stem.removesuffix("index") + ("" if directory_urls else "index.html")
    return stem + ("/" if directory_urls else ".html")


REDIRECT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Moved</title>
<meta http-equiv="refresh" content="0; url={target}">
<link rel="canonical" href="{target}">
<script>location.replace({target_js} + location.search + location.hash);</script>
</head><body>This page moved to <a href="{target}">{target}</a>.</body></html>
"""


def write_redirect(site_dir: Path, old_url: str, new_url: str) -> Path:
    """A page at `old_url` that sends the reader (query and anchor kept) to `new_url`."""
    depth = old_url.count("/")
    target = "../" * depth + new_url or "./"
    out = site_dir / old_url / "index.html" if old_url.endswith("/") or not old_url else None
    out = out or site_dir / old_url
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        REDIRECT_PAGE.format(target=html.escape(target), target_js=json.dumps(target)),
        encoding="utf-8",
    )
    return out


# What the root 404 shows and does: a path without a version (an old link) goes to the same
# page of the default version; a page missing from a version says so.
ROOT_404 = (TEMPLATES / "root-404.html").read_text(encoding="utf-8")
# Where no themed 404 page of the default version can be had.
BARE_404 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Page not found</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}}
</style>
</head><body>
{content}</body></html>
"""
ARTICLE = re.compile(r'(<article class="md-content__inner[^"]*">).*?(</article>)', re.S)
CONFIG = re.compile(r'(<script id="__config" type="application/json">)(.*?)(</script>)', re.S)


def root_404(
    default: str, redirects: dict[str, str], themed: str | None = None, version_dir: str = ""
) -> str:
    """The site root's 404.html: a path without a version goes to the default version.

    `themed` is the default version's own 404.html (built into `version_dir`); the root page
    is that page, its links made to work from the root, with the root 404's content in place
    of the article. Without it, a bare page.
    """
    clean = {k.strip("/") + ("/" if k.endswith("/") else ""): v for k, v in redirects.items()}
    content = ROOT_404.replace("__DEFAULT__", json.dumps(default))
    content = content.replace("__REDIRECTS__", json.dumps(clean, sort_keys=True))
    page = themed and from_the_root(themed, version_dir)
    if not page or not ARTICLE.search(page):
        return BARE_404.format(content=content)
    return ARTICLE.sub(lambda m: m.group(1) + content + m.group(2), page, count=1)


def from_the_root(page: str, version_dir: str) -> str | None:
    """A version's 404.html with its links made to work at the site root.

    MkDocs writes a 404 page's links from the site's base path (that of site_url, else "/"):
    without site_url, "/assets/..." means the root's assets, which only the version's
    directory has. Links are moved into `version_dir`; with site_url, mike has already put
    the version into the base path, and nothing changes.
    """
    match = CONFIG.search(page)
    if not match:
        return None
    config = json.loads(match.group(2))
    base = config.get("base") or "/"
    if base.rstrip("/").endswith("/" + version_dir) or not base.startswith("/"):
        return page
    moved = base + version_dir + "/"
    # Paths that start with the base; not "//host" links (another site, or a relative link
    # that a theme wrote after a "/").
    start = re.escape(base) + "(?!/)"
    page = re.sub(r'((?:href|src)=")' + start, lambda m: m.group(1) + moved, page)
    for key in ("base", "search"):
        if isinstance(config.get(key), str) and re.match(start, config[key]):
            config[key] = moved + config[key][len(base) :]
    # As Jinja's tojson writes it: no "<" that could end the script early.
    text = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e")
    text = text.replace("&", "\\u0026")
    return CONFIG.sub(lambda m: m.group(1) + text + m.group(3), page, count=1)
