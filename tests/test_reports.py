"""Reports on both stores: helpfulness and its trend, did-the-fix-fix-it, service levels,
backlog; JSON and CSV with formula cells neutralised."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import insert, update

from feedback_api.review import rollups
from feedback_api.review.reports import neutralise, to_csv
from feedback_api.store.models import Feedback, Task
from tests import review_fixtures
from tests.review_fixtures import send

reviewers = review_fixtures.reviewers
NOW = datetime.now(UTC).replace(microsecond=0)


def ratings(app, page: str, version: str, helpful: int, unhelpful: int, at: datetime) -> None:
    rows = [
        {"page": page, "version": version, "rating": rating, "reasons": [], "notify": False,
         "created_at": at, "idempotency_key": uuid.uuid4().hex, "request_hash": "x" * 64}
        for rating in [1] * helpful + [0] * unhelpful
    ]  # fmt: skip
    with app.extensions["store"].engine.begin() as conn:
        conn.execute(insert(Feedback.__table__), rows)
        rollups.record(conn, rows, app.extensions["review"].team_of)  # as the intake does


def report(client, reviewers, query: str):
    response = client.get(f"/api/v1/reports/{query}", headers=reviewers.auth("ana"))
    assert response.status_code == 200, response.json
    return response


def test_helpfulness_by_page_with_trend(app, client, reviewers):
    ratings(app, "quickstart/", "0.1", 3, 1, NOW - timedelta(days=3))  # second half: 75 %
    ratings(app, "quickstart/", "0.1", 1, 1, NOW - timedelta(days=20))  # first half: 50 %
    ratings(app, "quickstart/", "0.1", 9, 0, NOW - timedelta(days=40))  # before the period
    ratings(app, "", "0.1", 0, 2, NOW - timedelta(days=1))
    rows = report(client, reviewers, "helpfulness?group_by=page").json["rows"]
    by_page = {r["page"]: r for r in rows}
    assert by_page["quickstart/"] == {
        "page": "quickstart/", "ratings": 6, "helpful": 4, "helpful_share": 0.6667,
        "first_half_share": 0.5, "second_half_share": 0.75, "trend": 0.25,
    }  # fmt: skip
    assert by_page[""]["helpful_share"] == 0.0 and by_page[""]["trend"] is None
    by_team = report(client, reviewers, "helpfulness?group_by=team").json["rows"]
    assert by_team == [
        {"team": "docs-team", "ratings": 8, "helpful": 4, "helpful_share": 0.5,
         "first_half_share": 0.5, "second_half_share": 0.5, "trend": 0.0}
    ]  # fmt: skip
    days = report(client, reviewers, "helpfulness?group_by=day").json["rows"]
    assert {r["day"] for r in days} == {
        (NOW - timedelta(days=n)).strftime("%Y-%m-%d") for n in (1, 3, 20)
    }
    assert {r["trend"] for r in days} == {None}
    since = (NOW - timedelta(days=2)).isoformat()
    recent = report(client, reviewers, f"helpfulness?since={since}").json
    assert [r["page"] for r in recent["rows"]] == [""]


def test_did_the_fix_fix_it(app, client, reviewers):
    task_id = send(client, page="quickstart/")["task_id"]
    ratings(app, "quickstart/", "0.1", 2, 8, NOW - timedelta(days=5))
    # Fixed in place: the same published version, republished (a resolution names a
    # version the site has).
    resolve = {"action": "resolve", "fixed_in_version": "0.1", "fix_url": "https://git.example/1"}
    done = client.post(
        f"/api/v1/tasks/{task_id}/transitions", json=resolve, headers=reviewers.auth("ana")
    )
    assert done.status_code == 200, done.json
    after_the_fix = datetime.now(UTC) + timedelta(minutes=1)  # NOW is when the module loaded
    ratings(app, "quickstart/", "0.1", 8, 2, after_the_fix)
    until = quote((after_the_fix + timedelta(days=1)).isoformat())
    [row] = report(client, reviewers, f"fixes?until={until}").json["rows"]
    assert row["task_id"] == task_id
    assert (row["before_ratings"], row["after_ratings"]) == (11, 10)  # before: with the task's own
    assert row["after_share"] == 0.8 and row["verdict"] == "better"


def test_service_levels_and_backlog(app, client, reviewers):
    ids = [send(client, page=page)["task_id"] for page in ("", "quickstart/", "reference/api/")]
    engine = app.extensions["store"].engine
    with engine.begin() as conn:
        tasks = Task.__table__
        # Task 0 answered in 10 min and resolved in 2 h; task 1 answered late; task 2 waits.
        created = NOW - timedelta(hours=10)
        conn.execute(
            update(tasks).values(
                created_at=created, first_response_due=created + timedelta(hours=4)
            )
        )
        conn.execute(
            update(tasks)
            .where(tasks.c.id == ids[0])
            .values(
                first_responded_at=created + timedelta(minutes=10),
                resolved_at=created + timedelta(hours=2),
                state="resolved",
                due_at=None,
            )
        )
        conn.execute(update(tasks).where(tasks.c.id == ids[1]).values(
            first_responded_at=created + timedelta(hours=5), breached=True))  # fmt: skip
    rows = report(client, reviewers, "sla?group_by=priority").json["rows"]
    [normal] = [r for r in rows if r["priority"] == "normal"]
    assert normal["tasks"] == 3 and normal["responded"] == 2
    assert normal["mean_first_response_minutes"] == 155.0
    assert normal["median_first_response_minutes"] == 155.0
    assert normal["on_time_response_rate"] == 0.5
    assert normal["resolution_rate"] == round(1 / 3, 4)
    assert normal["first_time_resolution_rate"] == 1.0
    assert normal["mean_resolution_hours"] == 2.0
    assert normal["breaches"] == 1
    backlog = report(client, reviewers, "backlog").json["rows"]
    assert {r["priority"]: r["open"] for r in backlog}["normal"] == 2
    assert [r["priority"] for r in backlog] == ["urgent", "important", "normal", "suggestion",
                                                 "request"]  # fmt: skip


def test_csv_export_neutralises_formulas(app, client, reviewers):
    ratings(app, '=HYPERLINK("http://evil")', "0.1", 1, 0, NOW - timedelta(hours=1))
    ratings(app, "@SUM(A1)", "0.1", 0, 1, NOW - timedelta(hours=1))
    response = report(client, reviewers, "helpfulness?format=csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["page", "ratings", "helpful"]
    assert {r[0] for r in rows[1:]} == {'\'=HYPERLINK("http://evil")', "'@SUM(A1)"}


def test_bad_report_parameters(client, reviewers):
    headers = reviewers.auth("ana")
    cases = {
        "/api/v1/reports/nothing": 404,
        "/api/v1/reports/helpfulness?group_by=colour": 422,
        "/api/v1/reports/sla?since=yesterday": 422,
        "/api/v1/reports/sla?since=2026-01-01T00:00:00": 422,  # no offset
        "/api/v1/reports/backlog?format=xlsx": 422,
    }
    for url, status in cases.items():
        response = client.get(url, headers=headers)
        assert response.status_code == status, url
        assert set(response.json) == {"error"}


def test_neutralise_cells():
    assert [neutralise(v) for v in ("=1+1", "+1", "-2", "@x", "\tx", "ok", -2, 0.5, None)] == [
        "'=1+1", "'+1", "'-2", "'@x", "'\tx", "ok", "-2", "0.5", ""]  # fmt: skip
    assert to_csv([]) == ""
    assert to_csv([], ["a", "b"]) == '"a","b"\r\n'
    # Leading blanks do not hide a formula; every cell is quoted, so a separator or a line
    # break in a reader's text stays inside its cell.
    assert neutralise("  =HYPERLINK(1)") == "'  =HYPERLINK(1)"
    row = {"comment": 'one, "two"\n=three'}
    assert to_csv([row]) == '"comment"\r\n"one, ""two""\n=three"\r\n'
