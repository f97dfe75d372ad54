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
    event_reason,
    event_sentence,
    reason_label,
    running_clock,
    when,
)


def _store():
    return current_app.extensions["store"]


def task_context(task_id: int, preview: dict | None = None, kept: dict | None = None) -> dict:
    """What task.html shows. `kept`, after a refused action: {"action", "values" (what the
    reviewer typed), "errors" (field -> message)}, so the form comes back as it was sent."""
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
        "events": [
            {
                "at": e.at,
                "actor": actor,
                "sentence": event_sentence(e.kind, e.from_value, e.to_value),
                "reason": event_reason(e.kind, e.reason),
                "kind": e.kind,
            }
            for e, actor in detail.events
        ],
        "people": people,
        "owner": detail.owner,
        "page_title": links.page_title(task.version, task.page),
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
        "reason_label": reason_label,
        "kept": kept or {"action": None, "values": {}, "errors": {}},
    }


@bp.get("/tasks/<int:task_id>")
@signed_in
def task_page(task_id: int):
    return render_template("dashboard/task.html", **task_context(task_id))


# The fields of the action forms that come back filled in after a refusal, and per action
# the fields task.html shows a refusal beside (any other refusal is flashed at the top).
KEPT_FIELDS = ("fixed_in_version", "fix_url", "reason", "note", "priority", "into", "to")
FIELD_ERRORS = {
    "resolve": ("fixed_in_version", "fix_url"),
    "priority": ("priority", "reason"),
    "note": ("note",),
    "merge": ("into",),
}


FIX_THE_FORM = "Nothing was changed: the form says what to correct."


def _back(task_id: int):
    return redirect(url_for("dashboard.task_page", task_id=task_id), code=303)


def _typed(form) -> dict[str, str]:
    return {name: form.get(name, "")[:4000] for name in KEPT_FIELDS}


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
        kept = {"action": action, "values": _typed(form), "errors": {}}
        context = task_context(task_id, preview, kept)
        return render_template("dashboard/task.html", **context)
    try:
        message = actions.perform(task_id, action, form, g.user)
    except actions.Refused as exc:
        # The form comes back with what was typed; a refusal about one field is shown
        # beside it, any other at the top of the page.
        beside = exc.field in FIELD_ERRORS.get(action, ())
        kept = {
            "action": action,
            "values": _typed(form),
            "errors": {exc.field: str(exc)} if beside else {},
        }
        flash(FIX_THE_FORM if beside else str(exc), "error")
        context = task_context(task_id, kept=kept)
        return render_template("dashboard/task.html", **context), exc.status
    flash(message, "ok")
    return _back(task_id)
