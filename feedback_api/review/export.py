"""The task list as a file, for the reviewer API (`GET /api/v1/tasks?format=...`) and the
dashboard's queue (its *Download* links): JSON in the API's list shape, or CSV with one row
per task and the task object's fields as columns (written by `reports.to_csv`, which keeps a
spreadsheet from running a cell that starts like a formula)."""

from __future__ import annotations

from flask import Response, jsonify

from feedback_api.http.body import invalid

from . import reports
from .schemas import TaskListOut, TaskOut

FORMATS = ("json", "csv")
COLUMNS = list(TaskOut.model_fields)
# The most tasks one export holds: the whole queue of any site this serves.
EXPORT_MAX = 100_000


def format_arg(args) -> str:
    """The `format` query parameter: json (the default) or csv; anything else is a 422."""
    fmt = args.get("format", "json")
    if fmt not in FORMATS:
        raise invalid("format must be json or csv.", "format", "not json or csv")
    return fmt


def task_list(
    fmt: str, views: list[dict], total: int, offset: int, limit: int, download: bool = False
) -> Response:
    """`views` (task objects as the API shows them) as JSON or as a CSV attachment."""
    if fmt == "csv":
        return Response(
            reports.to_csv([{c: v.get(c) for c in COLUMNS} for v in views], COLUMNS),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="tasks.csv"'},
        )
    body = TaskListOut.model_validate(
        {"items": views, "total": total, "offset": offset, "limit": limit}
    )
    response = jsonify(body.model_dump(mode="json"))
    if download:
        response.headers["Content-Disposition"] = 'attachment; filename="tasks.json"'
    return response
