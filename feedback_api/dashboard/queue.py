"""The queue: open tasks, nearest SLA deadline first, with filters kept in the URL."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import current_app, flash, g, redirect, render_template, request, url_for

from feedback_api.http.ids import parse_id
from feedback_api.review import export
from feedback_api.review import tasks as work
from feedback_api.review.api import task_view

from . import actions, bp, links, queries
from .auth import safe_next, signed_in
from .present import (
    CATEGORY_LABELS,
    PRIORITY_LABELS,
    STATE_LABELS,
    running_clock,
    when,
)
from .security import error_page

MULTI = ("state", "priority", "category")
SINGLE = ("owner", "team", "version", "page")


def parse_filters(args) -> work.TaskFilters:
    def values(name: str, allowed) -> list[str]:
        return [v for v in args.getlist(name) if v in allowed][:10]

    def one(name: str) -> str | None:
        value = args.get(name, "").strip()[:512]
        return value or None

    owner = one("owner")
    return work.TaskFilters(
        state=values("state", STATE_LABELS),
        priority=values("priority", PRIORITY_LABELS),
        category=values("category", CATEGORY_LABELS),
        owner=g.user.name if owner == "me" else owner,
        team=one("team"),
        version=one("version"),
        page=one("page"),
        breached=True if args.get("breached") == "yes" else None,
    )


def filter_args(filters: work.TaskFilters) -> list[tuple[str, str]]:
    pairs = [(name, v) for name in MULTI for v in getattr(filters, name)]
    pairs += [(name, getattr(filters, name)) for name in SINGLE if getattr(filters, name)]
    if filters.breached:
        pairs.append(("breached", "yes"))
    return pairs


def queue_url(pairs: list[tuple[str, str]], page: int = 1) -> str:
    if page > 1:
        pairs = [*pairs, ("p", str(page))]
    query = urlencode(pairs)
    return url_for("dashboard.index") + (f"?{query}" if query else "")


def toggled(pairs: list[tuple[str, str]], name: str, value: str) -> str:
    """The queue URL with one filter value switched on or off (page back to 1)."""
    if (name, value) in pairs:
        return queue_url([p for p in pairs if p != (name, value)])
    if name in SINGLE or name == "breached":
        pairs = [p for p in pairs if p[0] != name]
    return queue_url([*pairs, (name, value)])


def queue_page():
    settings = current_app.config["SETTINGS"]
    filters = parse_filters(request.args)
    try:
        page = max(1, min(int(request.args.get("p", "1")), 100_000))
    except ValueError:
        page = 1
    size = settings.dashboard_page_size
    with current_app.extensions["store"].transaction() as db:
        listing = queries.queue(db, filters, page, size)
        counts = queries.facet_counts(db, filters)
        people = queries.users(db)
    now = datetime.now(UTC)
    names = {u.id: u.display_name or u.name for u in people} | {
        uid: name for uid, name in listing.owners.items() if uid not in {u.id for u in people}
    }
    total = listing.total
    pairs = filter_args(filters)
    rows = [
        {
            "task": t,
            "clock": running_clock(t, now),
            "title": links.page_title(t.version, t.page),
            "owner": names.get(t.owner_id, "Unassigned") if t.owner_id else "Unassigned",
        }
        for t in listing.items
    ]
    pages = max(1, -(-total // size))
    mine = str(g.user.id)  # counts are keyed by owner id, the URL by name
    return render_template(
        "dashboard/queue.html",
        active="queue",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        pairs=pairs,
        counts=counts,
        people=people,
        names=names,
        mine=mine,
        labels={
            "state": STATE_LABELS,
            "priority": PRIORITY_LABELS,
            "category": CATEGORY_LABELS,
        },
        toggled=lambda name, value: toggled(pairs, name, value),
        page_url=lambda n: queue_url(pairs, n),
        when=when,
        return_to=queue_url(pairs, page),
        export_url=lambda fmt: export_url(pairs, fmt),
    )


def export_url(pairs: list[tuple[str, str]], fmt: str) -> str:
    return url_for("dashboard.export_tasks") + "?" + urlencode([("format", fmt), *pairs])


@bp.get("/tasks/export")
@signed_in
def export_tasks():
    """The queue under its filters, every page of it, as a CSV or JSON file; the tasks and
    columns are those of the reviewer API's `GET /api/v1/tasks?format=...`."""
    fmt = request.args.get("format", "csv")
    if fmt not in export.FORMATS:
        return error_page(422, "No such format", "The queue downloads as csv or json.")
    filters = parse_filters(request.args)
    with current_app.extensions["store"].transaction() as db:
        listing = queries.queue(db, filters, 1, export.EXPORT_MAX)
        views = [task_view(db, t, listing.owners.get(t.owner_id)) for t in listing.items]
    return export.task_list(fmt, views, listing.total, 0, listing.limit, download=True)


@bp.post("/tasks/assign")
@signed_in
def bulk_assign():
    ids = [i for i in map(parse_id, request.form.getlist("task_ids")) if i is not None][:500]
    owner = parse_id(request.form.get("owner_id"))
    back = safe_next(request.form.get("return_to"))
    if not ids or owner is None:
        flash("Choose at least one task and a person to assign them to.", "error")
        return redirect(back, code=303)
    try:
        done = actions.assign_many(ids, owner, g.user)
    except actions.Refused as exc:
        return error_page(exc.status, "Not assigned", str(exc))
    flash(f"Assigned {done} task{'s' if done != 1 else ''}.", "ok")
    return redirect(back, code=303)
