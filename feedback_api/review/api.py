"""The reviewer API: the task queue, one task with its feedback and audit, the actions on it,
and the reports. Bearer tokens from `flask --app feedback_api tokens create`.

Roles: every route needs a reviewer's token (`401` without one), checked before anything of
the request is read. Every reviewer reads every task; a reviewer changes only their team's
tasks (review/tasks.py `may_change`), takes only unowned ones and gives up their own;
assigning a task to someone else and merging tasks need an admin (`403`).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError

from feedback_api.http.body import bearer_token, invalid, read_json_object, validation_error
from feedback_api.http.errors import APIError
from feedback_api.store.models import Task, User

from . import accounts, export, reports, tasks
from .refusals import Refusal, refusal_status
from .schemas import (
    AssignIn,
    MergeIn,
    NoteIn,
    PriorityIn,
    TaskDetailOut,
    TaskEventOut,
    TaskFeedbackOut,
    TaskOut,
    TransitionIn,
)

bp = Blueprint("review", __name__, url_prefix="/api/v1")

MAX_PAGE = 200


def _store():
    return current_app.extensions["store"]


def _settings():
    return current_app.config["SETTINGS"]


def _unauthorized() -> APIError:
    return APIError(
        401,
        "unauthorized",
        "Send a reviewer's API token as `Authorization: Bearer`.",
        headers={"WWW-Authenticate": 'Bearer realm="tideway-review"'},
    )


def authenticate(session, admin: bool = False) -> User:
    """The user behind the request's bearer token: 401 without a live one, 403 if not admin."""
    token = bearer_token()
    user = accounts.user_for_token(session, token) if token else None
    if user is None:
        raise _unauthorized()
    if admin and user.role != "admin":
        raise APIError(403, "forbidden", f"{user.name} is a {user.role}; this needs an admin.")
    return user


# Views that need an admin whatever the body says.
ADMIN_ONLY = {"review.merge"}


@bp.before_request
def _authenticate_first() -> None:
    """Every reviewer route: the token (and the role) is checked before the request's
    arguments or body are read, so a caller without a live token learns nothing but 401."""
    with _store().transaction() as session:
        g.reviewer_id = authenticate(session, admin=request.endpoint in ADMIN_ONLY).id


def _actor(session) -> User:
    """The authenticated reviewer, in this transaction."""
    user = session.get(User, g.reviewer_id)
    if user is None or not user.active:  # deactivated between the two reads
        raise _unauthorized()
    return user


def _body(model: type[BaseModel]) -> BaseModel:
    payload = read_json_object()
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise validation_error(exc) from None


def _task(session, task_id: int, lock: bool = False) -> Task:
    task = session.get(Task, task_id, with_for_update=lock)
    if task is None:
        raise APIError(404, "not_found", f"There is no task {task_id}.")
    return task


def task_view(session, task: Task, owner: str | None = None) -> dict:
    if owner is None and task.owner_id:
        owner = session.get(User, task.owner_id).name
    view = TaskOut.model_validate(task, from_attributes=True)
    view.owner = owner
    return view.model_dump(mode="json")


def _domain_errors(call):
    """Run a domain operation; its refusals become API errors in the one shape."""
    try:
        return call()
    except Refusal as exc:
        status, code = refusal_status(exc)
        field = getattr(exc, "field", None)
        details = [{"field": field, "problem": str(exc)}] if field else None
        raise APIError(status, code, str(exc), details) from None


def _list_arg(name: str) -> list[str]:
    return [v for raw in request.args.getlist(name) for v in raw.split(",") if v]


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        problem = f"not a whole number from {low} to {high}"
        raise invalid(f"{name} is {problem}.", name, problem)
    return int(raw)


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise invalid(f"{name} must be true or false.", name, "not true or false")
    return raw == "true"


@bp.get("/tasks")
def list_tasks():
    filters = tasks.TaskFilters(
        state=_list_arg("state"),
        priority=_list_arg("priority"),
        category=_list_arg("category"),
        owner=request.args.get("owner"),
        team=request.args.get("team"),
        version=request.args.get("version"),
        page=request.args.get("page"),
        breached=_bool_arg("breached"),
    )
    fmt = export.format_arg(request.args)
    # A CSV export holds every matching task unless a page of them is asked for.
    whole = fmt == "csv" and "limit" not in request.args
    window = tasks.PageRequest(
        offset=_int_arg("offset", 0, 0, 10**9),
        limit=export.EXPORT_MAX if whole else _int_arg("limit", 50, 1, MAX_PAGE),
    )
    with _store().transaction() as session:
        found = _domain_errors(
            lambda: tasks.list_tasks(session, filters, request.args.get("sort", "due"), window)
        )
        items = [task_view(session, t, found.owners.get(t.owner_id)) for t in found.items]
    return export.task_list(fmt, items, found.total, found.offset, found.limit)


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int):
    with _store().transaction() as session:
        detail = tasks.task_detail(session, task_id)
        if detail is None:
            raise APIError(404, "not_found", f"There is no task {task_id}.")
        body = TaskDetailOut(
            task=TaskOut.model_validate(task_view(session, detail.task, detail.owner)),
            feedback=[TaskFeedbackOut.model_validate(f) for f in detail.feedback],
            events=[
                TaskEventOut(
                    id=e.id,
                    at=e.at,
                    actor=actor,
                    kind=e.kind,
                    from_value=e.from_value,
                    to_value=e.to_value,
                    reason=e.reason,
                )
                for e, actor in detail.events
            ],
        )
    return jsonify(body.model_dump(mode="json"))


def _act(task_id: int, operate):
    with _store().transaction() as session:
        actor = _actor(session)
        task = _task(session, task_id, lock=True)
        result = _domain_errors(lambda: operate(session, task, actor))
        session.flush()
        view = task_view(session, result)
    return jsonify(view)


@bp.post("/tasks/<int:task_id>/transitions")
def transition(task_id: int):
    data = _body(TransitionIn)
    review = current_app.extensions["review"]
    return _act(
        task_id,
        lambda s, t, actor: tasks.transition(
            s,
            t,
            data.action,
            actor,
            data.reason,
            data.fixed_in_version,
            data.fix_url,
            mail=review.intake.mail,
            policy=review.policy,
            published=review.published_versions(),
        ),
    )


@bp.post("/tasks/<int:task_id>/assign")
def assign(task_id: int):
    data = _body(AssignIn)

    def operate(session, task, actor):
        if data.owner is None:
            user = None
        else:
            try:
                user = accounts.find_user(session, data.owner)
            except accounts.AccountError as exc:
                raise tasks.TaskInputError("owner", str(exc)) from None
        return tasks.assign(session, task, user, actor, data.reason)

    return _act(task_id, operate)


@bp.post("/tasks/<int:task_id>/priority")
def set_priority(task_id: int):
    data = _body(PriorityIn)
    policy = current_app.extensions["review"].policy
    return _act(
        task_id,
        lambda s, t, actor: tasks.set_priority(s, t, data.priority, actor, data.reason, policy),
    )


@bp.post("/tasks/<int:task_id>/notes")
def add_note(task_id: int):
    data = _body(NoteIn)
    return _act(task_id, lambda s, t, actor: tasks.add_note(s, t, actor, data.text))


@bp.post("/tasks/<int:task_id>/merge")
def merge(task_id: int):
    data = _body(MergeIn)

    def operate(session, task, actor):
        target = _task(session, data.into, lock=True)
        return tasks.merge(session, task, target, actor, data.reason)

    return _act(task_id, operate)


# -- reports ---------------------------------------------------------------------------------

REPORT_NAMES = ("helpfulness", "fixes", "sla", "backlog", "breaches")


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        # An unencoded "+01:00" arrives as " 01:00"; that is what the sender meant.
        value = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise invalid(
            f"{name} must be an ISO 8601 time with offset.",
            name,
            "not like 2026-11-01T00:00:00Z",
        )
    return value


@bp.get("/reports/<name>")
def report(name: str):
    if name not in REPORT_NAMES:
        raise APIError(
            404, "not_found", f"There is no report {name!r}; try {', '.join(REPORT_NAMES)}."
        )
    period = reports.Period.of(_time_arg("since"), _time_arg("until"))
    group_by = request.args.get("group_by")
    fmt = export.format_arg(request.args)
    review = current_app.extensions["review"]
    with _store().transaction() as session:
        conn = session.connection()
        try:
            if name == "helpfulness":
                group_by = group_by or "page"
                rows = reports.helpfulness(
                    conn, period, group_by, review.team_of, request.args.get("version")
                )
            elif name == "sla":
                group_by = group_by or "team"
                rows = reports.service_levels(conn, period, group_by)
            elif name == "fixes":
                group_by, rows = "task", reports.fixes(conn, period)
            elif name == "breaches":
                group_by, rows = "task", reports.breaches(conn, period)
            else:
                group_by, rows = "priority", reports.backlog(conn)
        except ValueError as exc:
            raise invalid(str(exc), "group_by") from None
    if fmt == "csv":
        return Response(
            reports.to_csv(rows, reports.header(name, group_by)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return jsonify(
        {
            "report": name,
            "group_by": group_by,
            "since": None if name == "backlog" else period.since.isoformat(),
            "until": None if name == "backlog" else period.until.isoformat(),
            "rows": [
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
                for r in rows
            ],
        }
    )
