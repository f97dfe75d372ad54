"""A reader in real Chromium rates a page of a published version; the row lands in the store."""

from __future__ import annotations

from sqlalchemy import create_engine, text


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
    note = form.locator(".md-feedback__note [data-md-value='0']")
    note.wait_for(state="visible")
    page.screenshot(path=str(output_dir / "after-not-helpful.png"), full_page=True)
    assert rows(live_server.database_url) == [("quickstart/", published_site.older, 0)]
    assert [u for u in external if not u.startswith("data:")] == []
    page.close()


def test_the_root_redirects_to_latest_and_rating_names_the_version(
    browser, live_server, published_site
):
    page = browser.new_page()
    page.goto(f"{live_server.url}/")
    page.wait_for_url(f"{live_server.url}/latest/")
    page.locator("form.md-feedback button[data-md-value='1']").click()
    page.locator(".md-feedback__note [data-md-value='1']").wait_for(state="visible")
    # Read under the alias, stored under the version's real name.
    assert rows(live_server.database_url) == [("", published_site.current, 1)]
    page.close()
