"""The dashboard's actions, each one call into the review domain (feedback_api.review.tasks), which
owns the rules, the state machine, the audit trail and the readers' mail. Here: parse the
form, call, and turn the domain's refusals into a sentence for the reviewer."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from feedback_api.http.ids import parse_id
from feedback_api.review import notify
from feedback_api.review import tasks as work
from feedback_api.review.core import triage
from feedback_api.review.refusals import Refusal, refusal_status
from feedback_api.store.models import Outbox, Task, User

# The state changes offered as buttons; `resolve` has its own form (version, change link),
# and `duplicate` happens by merging.
ACTION_LABELS = {
    "triage": "Mark triaged",
    "start": "Start work",
    "stop": "Back to triaged",
    "wont_fix": "Won't fix",
    "close": "Close",
    "reopen": "Reopen",
}


# The domain's name of a value -> the dashboard form's field for it.
DOMAIN_FIELDS = {"text": "note", "owner": "owner_id"}


class Refused(Exception):
    """A refusal as a sentence and a status; `field` names the form field it is about."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.field = field


def _store():
    return current_app.extensions["store"]


def _settings():
    return current_app.config["SETTINGS"]


def _policy():
    return current_app.extensions["review"].policy


def state_actions(task: Task) -> list[tuple[str, str]]:
    """(action, label) pairs the state machine allows from the task's state."""
    return [
        (action, label)
        for action, label in ACTION_LABELS.items()
        if (task.state, action) in triage.TRANSITIONS
    ]


def can_resolve(task: Task) -> bool:
    return (task.state, "resolve") in triage.TRANSITIONS


def preview_resolution(task_id: int, version: str, fix_url: str) -> dict:
    """The mail readers would get, made by the real code path and then rolled back."""
    with _store().engine.connect() as conn:
        outer = conn.begin()
        try:
            conn.execute(
                Task.__table__.update()
                .where(Task.id == task_id)
                .values(fixed_in_version=version or None, fix_url=fix_url or None)
            )
            count = notify.enqueue_resolved(conn, task_id, _reader_mail(), _now())
            mail = conn.execute(
                select(Outbox.subject, Outbox.body, Outbox.unsubscribe_url)
                .where(Outbox.task_id == task_id, Outbox.kind == "resolved")
                .order_by(Outbox.id.desc())
                .limit(1)
            ).first()
        finally:
            outer.rollback()
    # The token of a rolled-back row would never work; each real mail gets one of its own.
    own_link = notify.unsubscribe_url(
        _settings().public_url, "<a link of its own, made when the mail is written>"
    )
    body = notify.mail_text(mail.body, own_link if mail.unsubscribe_url else None) if mail else ""
    return {
        "version": version,
        "fix_url": fix_url,
        "recipients": count,
        "subject": mail.subject if mail else "",
        "body": body,
    }


def _reader_mail() -> notify.ReaderMail:
    return current_app.extensions["review"].intake.mail


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _user(db, user_id: str | int | None) -> User:
    uid = parse_id(user_id)
    user = db.get(User, uid) if uid is not None else None
    if user is None:
        raise Refused("Choose a person from the list.", 422)
    return user


def assign_many(task_ids: list[int], owner_id: int, actor: User) -> int:
    try:
        with _store().transaction() as db:
            owner = _user(db, owner_id)
            me = db.get(User, actor.id)
            tasks = db.scalars(select(Task).where(Task.id.in_(task_ids))).all()
            for task in tasks:
                work.assign(db, task, owner, me)
            return len(tasks)
    except Refusal as exc:
        raise Refused(str(exc), refusal_status(exc)[0]) from None


def perform(task_id: int, action: str, form, actor: User) -> str:
    """Do `action` on the task in one transaction; a sentence saying what was done."""
    text = form.get("reason", "").strip()[:2000] or None
    try:
        with _store().transaction() as db:
            task = db.get(Task, task_id)
            if task is None:
                raise Refused("There is no such task.", 404)
            me = db.get(User, actor.id)
            if action == "transition":
                step = form.get("to", "")
                if step not in ACTION_LABELS:
                    raise Refused("Choose one of the offered state changes.", 422)
                work.transition(
                    db,
                    task,
                    step,
                    me,
                    text,
                    mail=_reader_mail(),
                    policy=_policy(),
                )
                return f"Task #{task_id} is now {task.state.replace('_', ' ')}."
            if action == "resolve":
                work.transition(
                    db,
                    task,
                    "resolve",
                    me,
                    text,
                    fixed_in_version=form.get("fixed_in_version", "").strip()[:64] or None,
                    fix_url=_checked_url(form.get("fix_url", "")),
                    mail=_reader_mail(),
                    policy=_policy(),
                    published=current_app.extensions["review"].published_versions(),
                )
                return f"Task #{task_id} is resolved; readers who asked will be told."
            if action == "assign":
                owner = _user(db, form.get("owner_id"))
                work.assign(db, task, owner, me, text)
                return f"Task #{task_id} is assigned to {owner.display_name or owner.name}."
            if action == "priority":
                if not text:
                    raise Refused("Give a reason for changing the priority.", 422, "reason")
                work.set_priority(db, task, form.get("priority", ""), me, text, _policy())
                return f"Task #{task_id} is now {task.priority}."
            if action == "note":
                work.add_note(db, task, me, form.get("note", "")[:4000])
                return "Note added."
            if action == "merge":
                if me.role != "admin":
                    raise Refused("Only an admin merges tasks.", 403)
                into = parse_id(form.get("into", "").strip().lstrip("#"))
                target = db.get(Task, into) if into is not None else None
                if target is None:
                    raise Refused("There is no task with that number.", 422, "into")
                work.merge(db, task, target, me, text)
                return f"Task #{task_id} is merged into #{target.id}."
            raise Refused("There is no such action.", 404)
    except Refusal as exc:
        field = getattr(exc, "field", None)
        field = DOMAIN_FIELDS.get(field, field)
        raise Refused(str(exc), refusal_status(exc)[0], field) from None


def _checked_url(value: str) -> str | None:
    from .links import external_url

    value = value.strip()
    if not value:
        return None
    url = external_url(value)
    if url is None:
        raise work.TaskInputError("fix_url", "The change link must be an http(s) URL.")
    return url
