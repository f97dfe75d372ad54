"""Request and response models of the reviewer API: they validate and they document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from feedback_api.http.ids import RowId

from .core.policy import Category, Priority
from .core.triage import ACTIONS, STATES

State = Literal[STATES]  # type: ignore[valid-type]
Action = Literal[tuple(a for a in ACTIONS if a != "duplicate")]  # type: ignore[valid-type]
Reason = Annotated[
    str | None, Field(None, max_length=2000, description="Why, for the audit trail.")
]
HttpUrl = Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TransitionIn(_In):
    """Move a task through its lifecycle."""

    action: Action = Field(
        description="`triage`, `start`, `stop`, `resolve`, `wont_fix`, `close` or `reopen`; "
        "which are allowed depends on the state (else `409 illegal_transition`)."
    )
    reason: Reason = None
    fixed_in_version: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="With `resolve` (required): the version that has the fix.",
    )
    fix_url: HttpUrl | None = Field(
        None, description="With `resolve` (required): a link to the change that fixes it."
    )


class AssignIn(_In):
    """Give the task to a person (or to no one)."""

    owner: str | None = Field(description="A user's login name, or null to unassign.")
    reason: Reason = None


class PriorityIn(_In):
    """Set the priority by hand; the due times are recomputed."""

    priority: Priority = Field(description="The new priority.")
    reason: Reason = None


class NoteIn(_In):
    """An internal note on the task (never shown to readers)."""

    text: str = Field(min_length=1, max_length=5000, description="The note.")


class MergeIn(_In):
    """Mark this task a duplicate of another; its feedback moves there."""

    into: RowId = Field(description="The id of the open task to merge into.")
    reason: Reason = None


class TaskOut(BaseModel):
    """A review task as reviewers see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The task's id.")
    page: str = Field(description="The page's URL path within its version.")
    version: str = Field(description="The version's name.")
    state: State = Field(description="Where the task is in its lifecycle.")
    category: Category = Field(description="The feedback class.")
    priority: Priority = Field(description="The priority; it decides the service level.")
    priority_rule: str = Field(description="Which rule set the priority, in words.")
    team: str = Field(description="The team that owns the page.")
    owner: str | None = Field(None, description="The owner's login name.")
    tier: int = Field(description="Support tier 1, 2 or 3; a breach moves it up one.")
    feedback_count: int = Field(description="Submissions on the task.")
    reader_count: int = Field(description="Distinct readers among them.")
    created_at: datetime = Field(description="When the task opened (UTC).")
    updated_at: datetime = Field(description="Last change (UTC).")
    first_response_due: datetime = Field(description="First response due (UTC).")
    resolution_due: datetime = Field(description="Resolution due (UTC).")
    due_at: datetime | None = Field(description="The due time that matters now; null if done.")
    first_responded_at: datetime | None = Field(description="First action by a person.")
    resolved_at: datetime | None = Field(description="When it was resolved.")
    closed_at: datetime | None = Field(description="When it was closed.")
    fixed_in_version: str | None = Field(description="The version with the fix.")
    fix_url: str | None = Field(description="The change that fixed it.")
    reopened_count: int = Field(description="Times it was reopened.")
    previous_task_id: int | None = Field(description="The page's earlier task, if any.")
    merged_into_id: int | None = Field(description="The task it was merged into.")
    breached: bool = Field(description="A due time passed before it was met.")


class TaskListOut(BaseModel):
    """One page of the queue."""

    items: list[TaskOut] = Field(description="The tasks on this page.")
    total: int = Field(description="Tasks matching the filters, on all pages.")
    offset: int = Field(description="Index of the first task on this page.")
    limit: int = Field(description="Page size.")


class TaskFeedbackOut(BaseModel):
    """A submission on a task. The reader's address is never shown."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The submission's id.")
    rating: int = Field(description="`1` helpful, `0` not helpful.")
    reasons: list[str] = Field(description="Reason codes.")
    comment: str | None = Field(description="What the reader wrote.")
    selection: str | None = Field(description="The passage they selected.")
    anchor: str | None = Field(description="The heading nearest to it.")
    locale: str | None = Field(description="The reader's language.")
    notify: bool = Field(description="The reader asked to be told when it is fixed.")
    created_at: datetime = Field(description="When it was stored.")


class TaskEventOut(BaseModel):
    """One entry of the audit trail."""

    id: int = Field(description="The entry's id (in order of writing).")
    at: datetime = Field(description="When.")
    actor: str | None = Field(description="Who (login name); null for the system.")
    kind: str = Field(
        description="`state`, `priority`, `owner`, `tier`, `merge`, `note`, "
        "`feedback`, `sla` or `notify`."
    )
    from_value: str | None = Field(description="The value before.")
    to_value: str | None = Field(description="The value after.")
    reason: str | None = Field(description="Why, or the note's text.")


class TaskDetailOut(BaseModel):
    """A task with its feedback and its audit trail."""

    task: TaskOut = Field(description="The task.")
    feedback: list[TaskFeedbackOut] = Field(description="Its submissions, oldest first.")
    events: list[TaskEventOut] = Field(description="Its audit trail, oldest first.")


class ReportOut(BaseModel):
    """A report: one row per group (page, version, team or period)."""

    report: str = Field(description="The report's name.")
    group_by: str = Field(description="What each row stands for.")
    since: datetime | None = Field(description="Start of the period (inclusive), if any.")
    until: datetime | None = Field(description="End of the period (exclusive), if any.")
    rows: list[dict] = Field(description="The rows; their columns are in *Reports*.")
