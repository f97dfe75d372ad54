"""Insights: helpfulness over time, the least helpful pages in latest, before and after each
fix, and the service levels per team; every table's numbers also as CSV. The numbers come
from the review domain's reports (feedback_api.review.reports); this module only shapes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Response, abort, current_app, render_template, request

from feedback_api.review import reports

from . import bp, charts, links
from .auth import signed_in

# The period choices, as the select shows them.
PERIODS = {
    "7": "Last 7 days",
    "30": "Last 30 days",
    "90": "Last 90 days",
    "365": "Last 12 months",
}
TOP = 10


def _params() -> dict:
    days = request.args.get("days", "30")
    days = days if days in PERIODS else "30"
    versions = links.published_versions()
    latest = links.latest_version()
    version = request.args.get("version", "")
    version = version if version in versions else (latest or (versions[0] if versions else ""))
    until = datetime.now(UTC)
    period = reports.Period(until - timedelta(days=int(days)), until)
    return {
        "days": days,
        "version": version,
        "versions": versions,
        "latest": latest,
        "period": period,
    }


def _by_page(conn, p: dict, version: str) -> list[dict]:
    # The page table and the least-helpful chart ask the same question when the chosen
    # version is the latest: answer it once per request.
    cache = p.setdefault("_by_page", {})
    if version not in cache:
        cache[version] = reports.helpfulness(conn, p["period"], "page", version=version)
    return [dict(row) for row in cache[version]]


def report_rows(name: str, p: dict) -> list[dict]:
    """The rows of one report, as both the page and its CSV show them."""
    with current_app.extensions["store"].engine.connect() as conn:
        if name == "helpfulness-by-day":
            rows = []
            for version in p["versions"]:
                for row in reports.helpfulness(conn, p["period"], "day", version=version):
                    rows.append({"version": version, **row})
            return rows
        if name == "helpfulness-by-page":
            return _by_page(conn, p, p["version"])
        if name == "least-helpful-latest":
            if not p["latest"]:
                return []
            rows = _by_page(conn, p, p["latest"])
            for row in rows:
                row["not_helpful"] = row["ratings"] - row["helpful"]
            rows = [r for r in rows if r["not_helpful"]]
            rows.sort(key=lambda r: (-r["not_helpful"], r["page"]))
            return rows[:TOP]
        if name == "fixes":
            return reports.fixes(conn, p["period"])
        if name == "service-levels":
            return reports.service_levels(conn, p["period"], "team")
        if name == "backlog":
            return reports.backlog(conn)
    abort(404)


REPORTS = (
    "helpfulness-by-day",
    "helpfulness-by-page",
    "least-helpful-latest",
    "fixes",
    "service-levels",
    "backlog",
)


@bp.get("/insights")
@signed_in
def insights():
    p = _params()
    data = {name: report_rows(name, p) for name in REPORTS}
    by_version: dict[str, list] = {}
    for row in data["helpfulness-by-day"]:
        if row["helpful_share"] is not None:
            day = date.fromisoformat(row["day"])
            by_version.setdefault(row["version"], []).append((day, row["helpful_share"]))
    series = [charts.Series(v, pts) for v, pts in by_version.items()]
    page_label = lambda page: page or "(home page)"  # noqa: E731
    on_time = [
        (r["team"], round(r["on_time_response_rate"] * 100))
        for r in data["service-levels"]
        if r["on_time_response_rate"] is not None
    ]
    return render_template(
        "dashboard/insights.html",
        active="insights",
        p=p,
        periods=PERIODS,
        data=data,
        legend=[(f"s{i % charts.SERIES_CLASSES}", s.name) for i, s in enumerate(series)],
        over_time=charts.share_line_chart(series, "Share of helpful ratings per day"),
        least_helpful=charts.bar_chart(
            [(page_label(r["page"]), r["not_helpful"]) for r in data["least-helpful-latest"]],
            "Not-helpful ratings per page in the latest version",
        ),
        fixes_chart=charts.before_after_chart(
            [
                (f"#{r['task_id']} {page_label(r['page'])}", r["before_share"], r["after_share"])
                for r in data["fixes"]
            ],
            "Helpful share before and after each fix",
        ),
        on_time_chart=on_time
        and charts.bar_chart(
            on_time,
            "On-time first responses per team (teams with a response in the period)",
            unit="%",
            series_class="s2",
        ),
        page_label=page_label,
        page_title=links.page_title,
        csv_args={"days": p["days"], "version": p["version"]},
    )


@bp.get("/insights/<name>.csv")
@signed_in
def insights_csv(name: str):
    if name not in REPORTS:
        abort(404)
    body = reports.to_csv(report_rows(name, _params()))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="tideway-{name}.csv"'},
    )
