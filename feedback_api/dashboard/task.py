"""The task page: the page in context, every submission, the audit timeline, the actions."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from feedback_api.review import tasks as work
from feedback_api.store.models import User

from . import actions, bp, links
from .auth import signed_in
from .present import (
    CATEGORY_LABELS,
    PRIORITY_LABELS,
    STATE_LABELS,
    running_clock,
    when,
)


def _store():
    return current_app.extensions["store"]


EVENT_KINDS = {
    "state": "state",
    "owner": "owner",
    "priority": "priority",
    "category": "class",
    "note": "internal note",
    "merge": "merged task",
    "feedback": "feedback joined",
    "sla": "service level",
    "tier": "support tier",
}


def task_context(task_id: int, preview: dict | None = None) -> dict:
    with _store().transaction() as db:
        detail = work.task_detail(db, task_id)
        if detail is None:
            abort(404)
        people = db.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    task = detail.task
    return {
        "active": "queue",
        "task": task,
        "clock": running_clock(task, datetime.now(UTC)),
        "submissions": [
            {
                "row": f,
                "anchor_url": links.page_url(task.version, task.page, f.anchor)
                if f.anchor
                else None,
            }
            for f in detail.feedback
        ],
        "events": detail.events,
        "people": people,
        "owner": detail.owner,
        "version_url": links.page_url(task.version, task.page),
        "latest_url": links.latest_page_url(task.page),
        "fix_link": links.external_url(task.fix_url),
        "versions": links.published_versions(),
        "state_actions": actions.state_actions(task),
        "can_resolve": actions.can_resolve(task),
        "labels": {
            "state": STATE_LABELS,
            "priority": PRIORITY_LABELS,
            "category": CATEGORY_LABELS,
        },
        "when": when,
        "preview": preview,
        "event_kinds": EVENT_KINDS,
    }


@bp.get("/tasks/<int:task_id>")
@signed_in
def task_page(task_id: int):
    return render_template("dashboard/task.html", **task_context(task_id))


def _back(task_id: int):
    return redirect(url_for("dashboard.task_page", task_id=task_id), code=303)


def _form_text(name: str, limit: int = 2000) -> str:
    return request.form.get(name, "").strip()[:limit]


@bp.post("/tasks/<int:task_id>/<action>")
@signed_in
def task_action(task_id: int, action: str):
    form = request.form
    if action == "resolve" and "preview" in form:
        # Nothing changes: the page comes back with the mail the reader would get.
        preview = actions.preview_resolution(
            task_id, _form_text("fixed_in_version", 64), _form_text("fix_url")
        )
        return render_template("dashboard/task.html", **task_context(task_id, preview))
    try:
        message = actions.perform(task_id, action, form, g.user)
    except actions.Refused as exc:
        flash(str(exc), "error")
        return render_template("dashboard/task.html", **task_context(task_id)), exc.status
    flash(message, "ok")
    return _back(task_id)
