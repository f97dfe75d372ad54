"""The queue's reads: one page of tasks from the review domain's `list_tasks`, and for each
filter the number of tasks each of its values would show (built on the same filtering, so
the counts always agree with the list)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback_api.review import tasks as work
from feedback_api.review.core.triage import OPEN_STATES
from feedback_api.store.models import Task, User

FACETS = {
    "state": Task.state,
    "priority": Task.priority,
    "category": Task.category,
    "owner": Task.owner_id,
    "team": Task.team,
    "version": Task.version,
}
_EMPTY = {"state": [], "priority": [], "category": [], "owner": None, "team": None}
_EMPTY |= {"version": None}


def effective(filters: work.TaskFilters) -> work.TaskFilters:
    """No state chosen means the open ones: the queue is work still to do."""
    if filters.state:
        return filters
    return dataclasses.replace(filters, state=list(OPEN_STATES))


def queue(db: Session, filters: work.TaskFilters, page: int, size: int) -> work.TaskList:
    return work.list_tasks(
        db, effective(filters), "due", work.PageRequest(offset=(page - 1) * size, limit=size)
    )


def facet_counts(db: Session, filters: work.TaskFilters) -> dict[str, dict[str, int]]:
    """For each facet, how many tasks each value has under all the other filters."""
    counts: dict[str, dict[str, int]] = {}
    for name, column in FACETS.items():
        others = dataclasses.replace(filters, **{name: _EMPTY[name]})
        if name != "state":
            others = effective(others)
        query = work.filtered(select(column, func.count()), others, db).group_by(column)
        counts[name] = {("none" if v is None else str(v)): n for v, n in db.execute(query)}
    breached = dataclasses.replace(effective(filters), breached=True)
    counts["breached"] = {
        "yes": db.scalar(work.filtered(select(func.count()).select_from(Task), breached, db))
    }
    return counts


def users(db: Session) -> list[User]:
    return list(db.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))
