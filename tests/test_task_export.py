"""Exporting the task list with its filters, as CSV and JSON: from the reviewer API with a
token made by the CLI, and from the dashboard's queue by its Download links in Chromium,
both against a real gunicorn server."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request

import pytest

from feedback_api.store.models import Task
from tests import test_dashboard_browser as dashboard
from tests.test_dashboard_browser import flask_cli, new_page, sign_in

store = dashboard.store
team = dashboard.team

COLUMNS = ["id", "page", "version", "state", "category", "priority", "priority_rule", "team",
           "owner", "tier", "feedback_count", "reader_count", "created_at", "updated_at",
           "first_response_due", "resolution_due", "due_at", "first_responded_at",
           "resolved_at", "closed_at", "fixed_in_version", "fix_url", "reopened_count",
           "previous_task_id", "merged_into_id", "breached"]  # fmt: skip


def get(server, path: str, token: str) -> tuple[int, str, bytes, dict]:
    request = urllib.request.Request(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                response.headers.get_content_type(),
                response.read(),
                response.headers,
            )
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), exc.read(), exc.headers


def rows_of(data: bytes) -> list[dict]:
    reader = csv.DictReader(io.StringIO(data.decode()))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def test_the_api_exports_the_filtered_task_list_as_csv_and_json(live_server, team, store):
    token = flask_cli(live_server, "tokens", "create", "ana").strip()
    ids = team["tasks"]
    # A reviewer's text that a spreadsheet would run as a formula.
    with store.transaction() as db:
        db.get(Task, ids["api"]).fix_url = '=HYPERLINK("http://evil.example","x")'

    status, kind, body, headers = get(live_server, "/api/v1/tasks?format=csv", token)
    assert (status, kind) == (200, "text/csv"), body[:200]
    assert 'filename="tasks.csv"' in headers["Content-Disposition"]
    everything = rows_of(body)
    assert sorted(int(r["id"]) for r in everything) == sorted(ids.values())
    [api] = [r for r in everything if int(r["id"]) == ids["api"]]
    assert api["fix_url"].startswith("'=HYPERLINK")
    # Routed by the sweep to platform-team's only member.
    assert api["page"] == "reference/api/" and api["owner"] == "bo"

    # The filters and the sort of the JSON list apply to the CSV alike.
    query = "team=docs-team&version={}&sort=-created".format(
        next(r["version"] for r in everything if int(r["id"]) == ids["quickstart"])
    )
    status, kind, body, _ = get(live_server, f"/api/v1/tasks?{query}&format=csv", token)
    filtered = rows_of(body)
    status, kind, listed, _ = get(live_server, f"/api/v1/tasks?{query}&format=json", token)
    assert (status, kind) == (200, "application/json")
    items = json.loads(listed)["items"]
    assert [int(r["id"]) for r in filtered] == [t["id"] for t in items]
    assert 0 < len(filtered) < len(everything)
    assert filtered[0]["created_at"] == items[0]["created_at"]
    # A page of the CSV when one is asked for.
    status, _, body, _ = get(live_server, f"/api/v1/tasks?{query}&format=csv&limit=1", token)
    assert [int(r["id"]) for r in rows_of(body)] == [items[0]["id"]]

    status, kind, body, _ = get(live_server, "/api/v1/tasks?format=xlsx", token)
    assert (status, kind) == (422, "application/json")
    error = json.loads(body)["error"]
    assert error["code"] == "validation_failed"
    assert error["details"] == [{"field": "format", "problem": "not json or csv"}]


@pytest.mark.browser
def test_the_dashboard_downloads_the_queue_with_its_filters(
    browser, live_server, team, published_site, output_dir
):
    page = new_page(browser, live_server)
    try:
        sign_in(page)
        page.get_by_label("Version").select_option(published_site.current)
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(f"**/dashboard/?*version={published_site.current}*")
        shown = page.locator("table.tasks tbody input[name=task_ids]").evaluate_all(
            "boxes => boxes.map(b => Number(b.value))"
        )
        assert 0 < len(shown) < len(team["tasks"])
        page.screenshot(path=output_dir / "queue-with-download-links.png", full_page=True)

        with page.expect_download() as done:
            page.get_by_role("link", name="Download CSV").click()
        download = done.value
        assert download.suggested_filename == "tasks.csv"
        rows = rows_of(open(download.path(), "rb").read())
        assert [int(r["id"]) for r in rows] == shown  # the queue's tasks, in its order
        assert {r["version"] for r in rows} == {published_site.current}

        with page.expect_download() as done:
            page.get_by_role("link", name="JSON", exact=True).click()
        listed = json.loads(open(done.value.path(), "rb").read())
        assert [t["id"] for t in listed["items"]] == shown and listed["total"] == len(shown)

        # Unknown format: a page that says so, not a file.
        response = page.goto("/dashboard/tasks/export?format=xlsx")
        assert response.status == 422
    finally:
        page.context.close()
