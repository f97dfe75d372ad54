"""Link targets the dashboard builds. None of them is a reader's string taken as is: a page
link exists only for a page the published site has in that version, an anchor only when
that page has a heading with that id, and a change link only for an http(s) URL."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app

from feedback_api.ingest.catalog import CatalogUnavailable

LATEST = "latest"


def _catalog():
    return current_app.extensions["catalog"]


def _base() -> str:
    return current_app.config["SETTINGS"].site_url or "/"


def published_page(version: str, page: str) -> dict | None:
    try:
        return _catalog().page(version, page)
    except CatalogUnavailable:
        return None


def page_title(version: str, page: str) -> str | None:
    """The page's title as the published site names it, or None when the site has no such
    page (or no title for it): then the dashboard shows the path."""
    entry = published_page(version, page)
    title = entry.get("title") if entry else None
    return title.strip() or None if isinstance(title, str) else None


def latest_version() -> str | None:
    try:
        return _catalog().resolve_version(LATEST)
    except CatalogUnavailable:
        return None


def page_url(version: str, page: str, anchor: str | None = None) -> str | None:
    """URL of `page` in `version`, or None when the published site has no such page."""
    entry = published_page(version, page)
    if entry is None:
        return None
    url = f"{_base()}{quote(version, safe='')}/{quote(page, safe='/')}"
    if anchor is not None:
        if anchor not in entry.get("anchors", []):
            return None
        url += "#" + quote(anchor, safe="")
    return url


def latest_page_url(page: str) -> str | None:
    """The same page under the `latest` alias, when the latest version has it."""
    version = latest_version()
    if version is None or published_page(version, page) is None:
        return None
    return f"{_base()}{LATEST}/{quote(page, safe='/')}"


def external_url(value: str | None) -> str | None:
    """An http(s) URL with a host, else None (shown as text, never as a link)."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(c in value for c in "\x00\r\n\t<>\"' "):
        return None
    return value.strip()


def published_versions() -> list[str]:
    """Version names, newest first as mike lists them (for the "fixed in" choice)."""
    try:
        return [entry["version"] for entry in _catalog().versions()]
    except CatalogUnavailable:
        return []
