"""Presentation of task fields the domain already computed: which SLA clock is running,
its badge (on time, warning, breached) and the time left, in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feedback_api.review.core.triage import is_open

STATE_LABELS = {
    "new": "New",
    "triaged": "Triaged",
    "in_progress": "In progress",
    "resolved": "Resolved",
    "wont_fix": "Won't fix",
    "duplicate": "Duplicate",
    "closed": "Closed",
}
PRIORITY_LABELS = {
    "urgent": "Urgent",
    "important": "Important",
    "normal": "Normal",
    "suggestion": "Suggestion",
    "request": "Request",
}
CATEGORY_LABELS = {
    "problem": "Problem",
    "suggestion": "Suggestion",
    "request": "Request",
    "praise": "Praise",
    "complaint": "Complaint",
}
SLA_LABELS = {"on_time": "On time", "warning": "Warning", "breached": "Breached", "none": "—"}


@dataclass(frozen=True)
class Clock:
    state: str  # on_time | warning | breached | none
    which: str  # "first response" | "resolution" | ""
    due: datetime | None
    left: str  # "2 h 5 min left" / "overdue by 1 h"

    @property
    def label(self) -> str:
        return SLA_LABELS[self.state]


def duration_words(seconds: float) -> str:
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def running_clock(task, now: datetime) -> Clock:
    """The SLA clock that matters now: first response until there is one, then resolution."""
    if not is_open(task.state):
        return Clock("none", "", None, "")
    if task.first_responded_at is None:
        which, due, warn = "first response", task.first_response_due, task.first_response_warn_at
    else:
        which, due, warn = "resolution", task.resolution_due, task.resolution_warn_at
    seconds = (due - now).total_seconds()
    if seconds < 0:
        return Clock("breached", which, due, f"overdue by {duration_words(seconds)}")
    state = "warning" if now >= warn else "on_time"
    return Clock(state, which, due, f"{duration_words(seconds)} left")


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
