"""A reader in real Chromium rates a page of a published version; the row lands in the store."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text


def rows_eventually(url: str, expected: list, timeout: float = 10.0):
    """The widget answers the reader at once and stores in the background: poll."""
    deadline = time.monotonic() + timeout
    while (found := rows(url)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def rows(url: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT page, version, rating FROM feedback")).all()
    finally:
        engine.dispose()


def test_not_helpful_click_is_stored(browser, live_server, published_site, output_dir):
    page = browser.new_page()
    external = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    page.goto(f"{live_server.url}/{published_site.older}/quickstart/")
    form = page.locator("form.md-feedback")
    form.wait_for(state="visible")
    assert "Was this page helpful?" in form.inner_text()
    form.locator("button[data-md-value='0']").click()
    page.locator(".tideway-thanks p").first.wait_for(state="visible")
    page.screenshot(path=str(output_dir / "after-not-helpful.png"), full_page=True)
    expected = [("quickstart/", published_site.older, 0)]
    assert rows_eventually(live_server.database_url, expected) == expected
    assert [u for u in external if not u.startswith("data:")] == []
    page.close()


def test_the_root_redirects_to_latest_and_rating_names_the_version(
    browser, live_server, published_site
):
    page = browser.new_page()
    page.goto(f"{live_server.url}/")
    page.wait_for_url(f"{live_server.url}/latest/")
    page.locator("form.md-feedback button[data-md-value='1']").click()
    page.locator(".tideway-thanks p").first.wait_for(state="visible")
    # Read under the alias, stored under the version's real name.
    expected = [("", published_site.current, 1)]
    assert rows_eventually(live_server.database_url, expected) == expected
    page.close()
