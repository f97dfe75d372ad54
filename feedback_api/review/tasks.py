"""What reviewers do to tasks: transition, assign, prioritise, note, merge; list and read them.

The reviewer API (review.py) and the dashboard call these with a session inside
`Store.transaction()`; every change writes its audit entry in that same transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedback_api.store.models import Feedback, Task, TaskEvent, User

from . import notify
from .audit import record
from .core import triage
from .core.policy import PRIORITIES, TriagePolicy
from .intake import recount


class TaskConflict(ValueError):
    """The task changed under the caller, or the change clashes with another task (409)."""


class TaskInputError(ValueError):
    """A value the operation needs is missing or wrong (422); `field` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def _now() -> datetime:
    return datetime.now(UTC)


def _set_due_at(task: Task) -> None:
    """Keep the queue's `due_at` in step with the task's state, response and due times."""
    task.due_at = triage.due_at(
        task.state,
        first_responded_at=task.first_responded_at,
        first_response_due=task.first_response_due,
        resolution_due=task.resolution_due,
    )


def _responded(task: Task, actor: User | None, now: datetime) -> None:
    # The first thing a person does on a task is its first response.
    if actor is not None and task.first_responded_at is None:
        task.first_responded_at = now
        _set_due_at(task)


def transition(
    session: Session,
    task: Task,
    action: str,
    actor: User | None,
    reason: str | None = None,
    fixed_in_version: str | None = None,
    fix_url: str | None = None,
    *,
    mail: notify.ReaderMail,
    policy: TriagePolicy | None = None,
    published: Collection[str] = (),
    now: datetime | None = None,
) -> Task:
    """Move the task by `action`; IllegalTransition (409) when its state does not allow it.
    A resolution names one of the `published` versions (when the site can be read)."""
    check_may_change(task, actor)
    now = now or _now()
    if action == "duplicate":
        raise triage.IllegalTransition("Mark a duplicate by merging it into the other task.")
    before = task.state
    after = triage.next_state(before, action)
    if action == "resolve":
        if not fixed_in_version:
            raise TaskInputError("fixed_in_version", "Say which version has the fix.")
        # It goes into readers' mail and exports: a version of the site, nothing else.
        if published and fixed_in_version not in published:
            raise TaskInputError(
                "fixed_in_version",
                f"{fixed_in_version!r} is not a published version; "
                f"choose one of {', '.join(published)}.",
            )
        if not fix_url:
            raise TaskInputError("fix_url", "Link the change that fixes it.")
    # Conditional on the state we read: of two reviewers acting at once, one wins.
    claimed = session.execute(
        update(Task).where(Task.id == task.id, Task.state == before).values(state=after)
    )
    if claimed.rowcount != 1:
        session.refresh(task)
        raise TaskConflict(f"Task {task.id} changed meanwhile; it is now {task.state}.")
    session.refresh(task)
    task.updated_at = now
    _responded(task, actor, now)
    if after == "resolved":
        task.resolved_at, task.fixed_in_version, task.fix_url = now, fixed_in_version, fix_url
    if after == "closed":
        task.closed_at = now
    if triage.is_open(after):
        if not triage.is_open(before):  # reopened by a person
            policy = policy or TriagePolicy()
            due = triage.task_deadlines(policy, task.priority, now)
            task.reopened_count += 1
            task.resolved_at = None
            task.resolution_due, task.resolution_warn_at = (
                due.resolution_due,
                due.resolution_warn_at,
            )
            task.resolution_warned_at = task.resolution_breached_at = None
        task.open_key = triage.open_key(task.page, task.version)
    else:
        task.open_key = None
    _set_due_at(task)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise TaskConflict(
            f"Another task is open for {task.version}/{task.page}; merge this one into it."
        ) from None
    record(session, task, "state", before=before, after=after, reason=reason, actor=actor, at=now)
    if after == "resolved":
        session.flush()
        notify.enqueue_resolved(session.connection(), task.id, mail, now)
    return task


class TaskForbidden(PermissionError):
    """The actor's role does not allow this change."""


def may_change(task: Task, actor: User) -> bool:
    """Every reviewer reads every team's tasks; a reviewer changes only their own team's
    tasks (or one they own), an admin any task."""
    return actor.role == "admin" or actor.team == task.team or task.owner_id == actor.id


def check_may_change(task: Task, actor: User | None) -> None:
    """Refuse a person's change to a task outside their team (None: the product itself)."""
    if actor is not None and not may_change(task, actor):
        raise TaskForbidden(
            f"Task {task.id} is {task.team}'s; {actor.name} works for {actor.team}. "
            "Ask an admin or someone of that team."
        )


def may_assign(task: Task, user: User | None, actor: User) -> bool:
    """A reviewer may take an unowned task of their team or give up their own; only an admin
    gives tasks to other people or takes them away from someone else."""
    if actor.role == "admin":
        return True
    if not may_change(task, actor):
        return False
    if user is None:
        return task.owner_id in (None, actor.id)
    return user.id == actor.id and task.owner_id in (None, actor.id)


def assign(
    session: Session,
    task: Task,
    user: User | None,
    actor: User | None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Task:
    """Give `task` to `user` (None: to nobody). `actor` None is the product itself."""
    if actor is not None and not may_assign(task, user, actor):
        check_may_change(task, actor)
        raise TaskForbidden(
            "Only an admin assigns tasks to other people or takes them from their owner."
        )
    now = now or _now()
    if user is not None and not user.active:
        raise TaskInputError("owner", f"{user.name} is not active.")
    before = _name(session, task.owner_id)
    task.owner_id = user.id if user else None
    task.updated_at = now
    _responded(task, actor, now)
    after = user.name if user else None
    record(session, task, "owner", before=before, after=after, reason=reason, actor=actor, at=now)
    return task


def set_priority(
    session: Session,
    task: Task,
    priority: str,
    actor: User | None,
    reason: str | None,
    policy: TriagePolicy,
    now: datetime | None = None,
) -> Task:
    """Re-time the task from its creation; a due time that would be past counts from now."""
    check_may_change(task, actor)
    if priority not in PRIORITIES:
        raise TaskInputError("priority", f"{priority!r} is not one of {', '.join(PRIORITIES)}.")
    now = now or _now()
    before = task.priority
    from_start = triage.task_deadlines(policy, priority, task.created_at)
    from_now = triage.task_deadlines(policy, priority, now)
    use = from_start if from_start.first_response_due > now else from_now
    task.first_response_due = use.first_response_due
    task.first_response_warn_at = use.first_response_warn_at
    use = from_start if from_start.resolution_due > now else from_now
    task.resolution_due = use.resolution_due
    task.resolution_warn_at = use.resolution_warn_at
    if task.first_response_warn_at > now:
        task.response_warned_at = None
    if task.resolution_warn_at > now:
        task.resolution_warned_at = None
    task.priority = priority
    setter = actor.name if actor else "the system"
    task.priority_rule = f"{priority}: set by {setter}" + (f" ({reason})" if reason else "")
    task.updated_at = now
    _responded(task, actor, now)
    _set_due_at(task)
    record(
        session, task, "priority", before=before, after=priority, reason=reason, actor=actor, at=now
    )
    return task


def add_note(
    session: Session, task: Task, actor: User | None, text: str, now: datetime | None = None
) -> Task:
    check_may_change(task, actor)
    if not text.strip():
        raise TaskInputError("text", "A note needs some text.")
    now = now or _now()
    _responded(task, actor, now)
    task.updated_at = now
    record(session, task, "note", reason=text.strip(), actor=actor, at=now)
    return task


def merge(
    session: Session,
    source: Task,
    target: Task,
    actor: User | None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Task:
    """`source` becomes a duplicate of `target`; its feedback (and readers) move over."""
    check_may_change(source, actor)
    check_may_change(target, actor)
    now = now or _now()
    if source.id == target.id:
        raise TaskInputError("into", "A task cannot be merged into itself.")
    if not triage.is_open(source.state):
        raise triage.IllegalTransition(
            f"Only an open task can be merged; this one is {source.state}."
        )
    if not triage.is_open(target.state):
        raise triage.IllegalTransition(
            f"Task {target.id} is {target.state}; merge into an open task."
        )
    transition_state = triage.next_state(source.state, "duplicate")
    before = source.state
    source.state, source.open_key = transition_state, None
    source.merged_into_id, source.updated_at = target.id, now
    _responded(source, actor, now)
    _set_due_at(source)
    session.flush()
    session.execute(update(Feedback).where(Feedback.task_id == source.id).values(task_id=target.id))
    if triage.priority_rank(source.priority) < triage.priority_rank(target.priority):
        record(
            session,
            target,
            "priority",
            before=target.priority,
            after=source.priority,
            reason=f"merged task {source.id} had it",
            actor=actor,
            at=now,
        )
        target.priority, target.priority_rule = source.priority, source.priority_rule
    session.flush()
    recount(session.connection(), target.id, now)
    recount(session.connection(), source.id, now)
    session.refresh(target)
    session.refresh(source)
    record(
        session,
        source,
        "state",
        before=before,
        after="duplicate",
        reason=reason,
        actor=actor,
        at=now,
    )
    for side in (source, target):
        record(
            session,
            side,
            "merge",
            before=source.id,
            after=target.id,
            reason=reason,
            actor=actor,
            at=now,
        )
    return target


def _name(session: Session, user_id: int | None) -> str | None:
    return session.get(User, user_id).name if user_id else None


# -- reading ---------------------------------------------------------------------------------

# A finished task has no due time: whichever the direction, it comes after the open ones
# (each store puts NULLs at a different end by default).
SORTS = {
    "due": (Task.due_at.asc().nulls_last(), Task.id.asc()),
    "-due": (Task.due_at.desc().nulls_last(), Task.id.desc()),
    "created": (Task.created_at.asc(), Task.id.asc()),
    "-created": (Task.created_at.desc(), Task.id.desc()),
    "updated": (Task.updated_at.asc(), Task.id.asc()),
    "-updated": (Task.updated_at.desc(), Task.id.desc()),
    "priority": (
        case({p: i for i, p in enumerate(PRIORITIES)}, value=Task.priority),
        Task.due_at.asc().nulls_last(),
        Task.id.asc(),
    ),
}


@dataclass(frozen=True)
class TaskFilters:
    state: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    owner: str | None = None  # a user name, or "none" for unassigned
    team: str | None = None
    version: str | None = None
    page: str | None = None
    breached: bool | None = None


@dataclass(frozen=True)
class PageRequest:
    offset: int = 0
    limit: int = 50


@dataclass
class TaskList:
    items: list[Task]
    total: int
    offset: int
    limit: int
    owners: dict[int, str]


def filtered(query: Select, filters: TaskFilters, session: Session) -> Select:
    """`query` narrowed to the tasks `filters` select (the queue and its facet counts)."""
    if filters.state:
        query = query.where(Task.state.in_(filters.state))
    if filters.priority:
        query = query.where(Task.priority.in_(filters.priority))
    if filters.category:
        query = query.where(Task.category.in_(filters.category))
    if filters.owner == "none":
        query = query.where(Task.owner_id.is_(None))
    elif filters.owner:
        owner_id = session.scalar(select(User.id).where(User.name == filters.owner))
        query = query.where(Task.owner_id == (owner_id if owner_id is not None else -1))
    if filters.team:
        query = query.where(Task.team == filters.team)
    if filters.version:
        query = query.where(Task.version == filters.version)
    if filters.page is not None:
        query = query.where(Task.page == filters.page)
    if filters.breached is not None:
        query = query.where(Task.breached.is_(filters.breached))
    return query


def list_tasks(
    session: Session, filters: TaskFilters, sort: str = "due", page: PageRequest = PageRequest()
) -> TaskList:
    """One page of the queue, and how many tasks match in all."""
    if sort not in SORTS:
        raise TaskInputError("sort", f"sort must be one of {', '.join(SORTS)}.")
    total = session.scalar(filtered(select(func.count()).select_from(Task), filters, session))
    query = filtered(select(Task), filters, session).order_by(*SORTS[sort])
    items = list(session.scalars(query.offset(page.offset).limit(page.limit)))
    owner_ids = {t.owner_id for t in items if t.owner_id}
    owners = dict(session.execute(select(User.id, User.name).where(User.id.in_(owner_ids))).all())
    return TaskList(items, total or 0, page.offset, page.limit, owners)


@dataclass
class TaskDetail:
    task: Task
    owner: str | None
    feedback: list[Feedback]
    events: list[tuple[TaskEvent, str | None]]


def task_detail(session: Session, task_id: int) -> TaskDetail | None:
    task = session.get(Task, task_id)
    if task is None:
        return None
    rows = list(
        session.scalars(select(Feedback).where(Feedback.task_id == task_id).order_by(Feedback.id))
    )
    events = list(
        session.execute(
            select(TaskEvent, User.name)
            .outerjoin(User, User.id == TaskEvent.actor_id)
            .where(TaskEvent.task_id == task_id)
            .order_by(TaskEvent.id)
        )
    )
    return TaskDetail(task, _name(session, task.owner_id), rows, events)
