"""How the review domain says no, and what each refusal is over HTTP: one table, read by the
reviewer API (the JSON error shape) and the dashboard (a flashed sentence and a status)."""

from __future__ import annotations

from .core.triage import IllegalTransition
from .tasks import TaskConflict, TaskForbidden, TaskInputError

# Each refusal's status and error code (feedback_api.http.errors.ERROR_CODES lists the codes).
REFUSALS: dict[type[Exception], tuple[int, str]] = {
    IllegalTransition: (409, "illegal_transition"),
    TaskConflict: (409, "task_conflict"),
    TaskForbidden: (403, "forbidden"),
    TaskInputError: (422, "validation_failed"),
}
Refusal = tuple(REFUSALS)


def refusal_status(exc: Exception) -> tuple[int, str]:
    """The (status, code) of a refusal raised by a task operation."""
    for kind, answer in REFUSALS.items():
        if isinstance(exc, kind):
            return answer
    raise TypeError(f"{type(exc).__name__} is not a refusal of the review domain")
