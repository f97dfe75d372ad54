"""The reviewer API's part of the OpenAPI document: paths and models from review_schemas."""

from __future__ import annotations

from typing import Any

from .schemas import (
    AssignIn,
    MergeIn,
    NoteIn,
    PriorityIn,
    ReportOut,
    TaskDetailOut,
    TaskEventOut,
    TaskFeedbackOut,
    TaskListOut,
    TaskOut,
    TransitionIn,
)

REQUEST_MODELS = (TransitionIn, AssignIn, PriorityIn, NoteIn, MergeIn)
RESPONSE_MODELS = (TaskOut, TaskListOut, TaskDetailOut, TaskFeedbackOut, TaskEventOut, ReportOut)
MODEL_NAMES = tuple(m.__name__ for m in REQUEST_MODELS + RESPONSE_MODELS)
SECURITY = [{"reviewerToken": []}]
SECURITY_SCHEME = {
    "reviewerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A reviewer's token from `flask --app feedback_api tokens create NAME`.",
    }
}
AUTH_ERRORS = ("unauthorized", "forbidden", "internal_error", "store_unavailable")
BODY_ERRORS = ("payload_too_large", "unsupported_media_type", "invalid_json", "validation_failed")

_TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _query(name: str, description: str, schema: dict | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema or {"type": "string"},
        "description": description,
    }


def review_paths(errors, json_body, json_out) -> dict[str, Any]:
    """Paths of the reviewer API; the helpers come from openapi.py so the shapes agree."""

    def action(op_id: str, summary: str, model: str, extra: tuple[str, ...] = ()) -> dict:
        return {
            "post": {
                "operationId": op_id,
                "summary": summary,
                "security": SECURITY,
                "parameters": [_TASK_ID],
                "requestBody": json_body(model),
                "responses": {
                    "200": json_out("TaskOut", "The task after the change."),
                    **errors(*AUTH_ERRORS, *BODY_ERRORS, "not_found", *extra),
                },
            }
        }

    return {
        "/api/v1/tasks": {
            "get": {
                "operationId": "listTasks",
                "summary": "The queue: tasks matching the filters, sorted, one page at a time; "
                "JSON, or CSV to export it.",
                "security": SECURITY,
                "parameters": [
                    _query("state", "Comma-separated states."),
                    _query("priority", "Comma-separated priorities."),
                    _query("category", "Comma-separated classes."),
                    _query("owner", "An owner's login name, or `none` for unassigned tasks."),
                    _query("team", "A team."),
                    _query("version", "A version's name."),
                    _query("page", 'A page\'s URL path (`""` for the home page).'),
                    _query("breached", "`true` or `false`.", {"type": "boolean"}),
                    _query(
                        "sort",
                        "`due` (default), `-due`, `created`, `-created`, `updated`, "
                        "`-updated` or `priority`.",
                    ),
                    _query("offset", "Tasks to skip.", {"type": "integer", "minimum": 0}),
                    _query(
                        "limit",
                        "Page size (default 50; with `format=csv`, every matching task "
                        "unless `limit` is given).",
                        {"type": "integer", "minimum": 1, "maximum": 200},
                    ),
                    _query(
                        "format",
                        "`json` (default): `TaskListOut`; `csv`: a `tasks.csv` attachment, one "
                        "row per task, the columns of `TaskOut` (a cell that starts like a "
                        "formula gets a leading `'`). Anything else: `422`.",
                        {"type": "string", "enum": ["json", "csv"]},
                    ),
                ],
                "responses": {
                    "200": {
                        **json_out("TaskListOut", "One page of the queue (or `text/csv`)."),
                        "content": {
                            **json_out("TaskListOut", "")["content"],
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **errors(*AUTH_ERRORS, "validation_failed"),
                },
            }
        },
        "/api/v1/tasks/{task_id}": {
            "get": {
                "operationId": "getTask",
                "summary": "One task with its feedback and its audit trail.",
                "security": SECURITY,
                "parameters": [_TASK_ID],
                "responses": {
                    "200": json_out("TaskDetailOut", "The task."),
                    **errors(*AUTH_ERRORS, "not_found"),
                },
            }
        },
        "/api/v1/tasks/{task_id}/transitions": action(
            "transitionTask",
            "Move the task through its lifecycle.",
            "TransitionIn",
            ("illegal_transition", "task_conflict"),
        ),
        "/api/v1/tasks/{task_id}/assign": action(
            "assignTask", "Give the task to a person; to someone else only as an admin.", "AssignIn"
        ),
        "/api/v1/tasks/{task_id}/priority": action(
            "prioritiseTask",
            "Set the priority by hand; the due times are recomputed.",
            "PriorityIn",
        ),
        "/api/v1/tasks/{task_id}/notes": action(
            "noteTask", "Add an internal note to the audit trail.", "NoteIn"
        ),
        "/api/v1/tasks/{task_id}/merge": action(
            "mergeTask",
            "Merge the task into another as a duplicate (admin).",
            "MergeIn",
            ("illegal_transition", "task_conflict"),
        ),
        "/api/v1/reports/{name}": {
            "get": {
                "operationId": "report",
                "summary": "A report: `helpfulness`, `fixes`, `sla`, `backlog` or `breaches`; JSON "
                "or CSV.",
                "security": SECURITY,
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    _query(
                        "since",
                        "Start of the period, ISO 8601 with offset (default: 30 days "
                        "before `until`).",
                    ),
                    _query("until", "End of the period (default: now)."),
                    _query(
                        "group_by",
                        "helpfulness: `page`, `version`, `team`, `day`, `month`; "
                        "sla: `team`, `priority`, `category`, `version`, `page`, `month`.",
                    ),
                    _query("version", "helpfulness: only this version."),
                    _query("format", "`json` (default) or `csv`."),
                ],
                "responses": {
                    "200": json_out("ReportOut", "The report (or `text/csv`)."),
                    **errors(*AUTH_ERRORS, "validation_failed", "not_found"),
                },
            }
        },
    }
