"""Presentation of task fields the domain already computed: which SLA clock is running,
its badge (on time, warning, breached) and the time left, in words; the readers' reasons by
their labels; and each audit entry as a sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from feedback_api.review.core.triage import is_open

from .text import reader_markup

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
# The reasons as the widget shows them to readers (its English labels, "reason.<code>" in
# overrides/partials/feedback.html); a test keeps the two in step.
REASON_LABELS = {
    "solved_my_problem": "It solved my problem",
    "easy_to_understand": "Easy to understand",
    "accurate": "Accurate",
    "good_examples": "Good examples",
    "inaccurate": "Something is wrong",
    "broken_example": "An example does not work",
    "hard_to_follow": "Hard to follow",
    "missing_information": "Information is missing",
    "outdated": "Out of date",
    "other": "Something else",
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


def reason_label(code: object) -> str:
    """A reason as readers saw it; a code the widget does not know, made readable
    ("needs_screenshot" -> "Needs screenshot"). Still reader text: show it with `reader`."""
    text = "" if code is None else str(code)
    if text in REASON_LABELS:
        return REASON_LABELS[text]
    words = " ".join(text.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:]


# -- the timeline --------------------------------------------------------------------------
# Each audit entry (kind, from_value, to_value) read as a sentence. Codes become their labels;
# every other value goes through `reader_markup` (escaped, bidi-isolated), as in templates.

EVENT_LABELS = {
    "state": STATE_LABELS,
    "priority": PRIORITY_LABELS,
    "category": CATEGORY_LABELS,
}
EVENT_NOUNS = {"state": "State", "priority": "Priority", "category": "Class"}
# Reasons the product writes that only repeat what the sentence already says.
_REDUNDANT_REASON = {"feedback": re.compile(r"\d+ submission\(s\) joined")}
_SHOWN_IDS = 5


def _value(kind: str, value: str | None) -> Markup:
    label = EVENT_LABELS.get(kind, {}).get(value or "")
    return Markup.escape(label) if label else reader_markup(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _task_ref(value: str | None) -> Markup:
    return Markup("#{}").format(reader_markup(value))


def event_sentence(kind: str, before: str | None, after: str | None) -> Markup:
    """What one audit entry says, as a sentence ("Priority raised from Normal to Urgent")."""
    old, new = _value(kind, before), _value(kind, after)
    if kind in EVENT_NOUNS:
        noun = EVENT_NOUNS[kind]
        if before is None:
            return Markup("{} set to {}").format(noun, new)
        verb = "changed"
        if kind == "priority" and before in PRIORITY_LABELS and after in PRIORITY_LABELS:
            order = list(PRIORITY_LABELS)
            verb = "raised" if order.index(after) < order.index(before) else "lowered"
        return Markup("{} {} from {} to {}").format(noun, verb, old, new)
    if kind == "owner":
        if before is None and after is None:
            return Markup("Owner unchanged")
        if before is None:
            return Markup("Assigned to {}").format(new)
        if after is None:
            return Markup("Unassigned from {}").format(old)
        return Markup("Reassigned from {} to {}").format(old, new)
    if kind == "note":
        return Markup("Internal note")
    if kind == "merge":
        return Markup("Task {} merged into {}").format(_task_ref(before), _task_ref(after))
    if kind == "feedback":
        ids = [i.strip() for i in (after or "").split(",") if i.strip()]
        if not ids:
            return Markup("Feedback joined")
        shown = Markup(", ").join(_task_ref(i) for i in ids[:_SHOWN_IDS])
        if len(ids) > _SHOWN_IDS:
            shown = Markup("{} and {} more").format(shown, len(ids) - _SHOWN_IDS)
        return Markup("{} joined ({})").format(_plural(len(ids), "submission"), shown)
    if kind == "sla":
        text = after or ""
        for ending, template in ((" warning", "{} due soon"), (" breached", "{} overdue")):
            if text.endswith(ending):
                clock = text[: -len(ending)]
                return Markup(template).format(reader_markup(clock[:1].upper() + clock[1:]))
        return Markup("Service level: {}").format(new)
    if kind == "tier":
        return Markup("Escalated from tier {} to tier {}").format(old, new)
    if kind == "notify":
        return Markup("Notified {}").format(new)
    # A kind this dashboard does not know yet: its name and values, still readable.
    name = reason_label(kind)
    if before is not None and after is not None:
        return Markup("{}: {} → {}").format(name, old, new)
    if before is not None or after is not None:
        return Markup("{}: {}").format(name, new if after is not None else old)
    return Markup.escape(name)


def event_reason(kind: str, reason: str | None) -> str | None:
    """The entry's reason, unless it only repeats the sentence."""
    pattern = _REDUNDANT_REASON.get(kind)
    if reason and pattern is not None and pattern.fullmatch(reason):
        return None
    return reason
