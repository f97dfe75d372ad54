"""The published docs, as a reader's Chromium loads them from the live server: no page
throws, and nothing is logged as an error, on the latest version or on an older one."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PAGES = ["", "quickstart/", "reference/api/"]


def test_docs_pages_load_without_a_script_error(live_server, browser, published_site):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else 0)
    try:
        for version in ("latest", published_site.current, published_site.older):
            for path in PAGES:
                url = f"{live_server.url}/{version}/{path}"
                response = page.goto(url)
                assert response is not None and response.status == 200, url
                page.wait_for_load_state("networkidle")
                assert errors == [], url
        # On the older version, Material's outdated slot is shown: its script ran to the end.
        page.goto(f"{live_server.url}/{published_site.older}/quickstart/")
        page.locator("[data-md-component=outdated]").wait_for(state="visible", timeout=10_000)
        assert errors == []
    finally:
        page.close()
