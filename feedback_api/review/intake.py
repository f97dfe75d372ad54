"""Feedback lands on tasks: the group committer's hook, in the transaction that stores a
batch, or (the writer process) in the one right after its acknowledgement.

For each page and version in the batch, the feedback that makes work joins the open task,
reopens a task resolved in that same version (negative feedback only), or opens a new one
linked to the page's earlier task. The `open_key` unique constraint keeps one open task per
page and version even when several processes write at once: a loser of that race retries
inside a savepoint and joins the winner's task.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    Integer,
    Row,
    bindparam,
    cast,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from feedback_api.ingest.catalog import CatalogUnavailable, SiteCatalog
from feedback_api.store.models import Feedback, Task, User
from feedback_api.store.prepared import Prepared
from feedback_api.store.writer import claim, padded

from . import notify, page_readers, rollups
from .accounts import routing_members
from .audit import log_event
from .core import triage
from .core.policy import OwnerRule, TriagePolicy

feedback = Feedback.__table__
tasks = Task.__table__
users = User.__table__

# The statements of the common path, where a batch joins an open task, are built once:
# building a Core statement on every call cost more CPU than running it. Those whose results
# need no processing run through the driver (store/prepared.py).
# Reports ask for the team of thousands of pages, and every batch for its pages' teams; the
# answer changes only on a publish.
TEAMS_TTL = 60.0

_OPEN_TASK = (
    select(
        tasks.c.id,
        tasks.c.state,
        tasks.c.priority,
        tasks.c.first_responded_at,
        tasks.c.first_response_due,
        tasks.c.resolution_due,
    )
    .where(tasks.c.open_key == bindparam("key"))
    .with_for_update()
)


@functools.cache
def _count_on_task(clients: int) -> Prepared:
    """Add a batch's submissions to a task, and those of its `clients` readers it lacks."""
    # Run before the rows move. One EXISTS per reader stops at its first row; a DISTINCT
    # over an IN list reads every row those readers have on the task (thousands, for a
    # reader who writes often).
    new_readers = [
        cast(
            ~exists().where(
                feedback.c.task_id == bindparam("task"),
                feedback.c.client_hash == bindparam(f"client_{i}"),
            ),
            Integer,
        )
        for i in range(clients)
    ]
    return Prepared(
        update(tasks)
        .where(tasks.c.id == bindparam("task"))
        .values(
            feedback_count=tasks.c.feedback_count + bindparam("submissions"),
            reader_count=functools.reduce(operator.add, new_readers, tasks.c.reader_count),
            updated_at=bindparam("now"),
        )
    )


@functools.cache
def _move_to_task(rows: int) -> Prepared:
    ids = [bindparam(f"id_{i}", type_=feedback.c.id.type) for i in range(rows)]
    return Prepared(
        update(feedback).where(feedback.c.id.in_(ids)).values(task_id=bindparam("task"))
    )


@dataclass
class IntakeContext:
    """What the hook needs, captured when the app is built (it runs off any request)."""

    policy: TriagePolicy
    owners: list[OwnerRule]
    default_team: str
    catalog: SiteCatalog | None
    mail: notify.ReaderMail
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    reader_limits: dict[int, int] = field(init=False)
    _teams: dict[tuple[str, str], str] = field(init=False, default_factory=dict)
    _teams_at: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.reader_limits = self.policy.reader_limits()

    def team_of(self, version: str, page: str) -> str:
        """The team a page belongs to by front matter, owners file or default team."""
        now = time.monotonic()
        if now - self._teams_at > TEAMS_TTL:  # the site may have been republished
            self._teams, self._teams_at = {}, now
        team = self._teams.get((version, page))
        if team is None:
            facts = page_facts(self.catalog, version, page).page
            team = triage.route_team(facts, self.owners, self.default_team, [])[0]
            self._teams[version, page] = team
        return team


@dataclass(frozen=True)
class PageFactsAndVersion:
    page: triage.PageFacts
    version_label: str
    is_default: bool


def page_facts(catalog: SiteCatalog | None, version: str, page: str) -> PageFactsAndVersion:
    entry, default_version, label = {}, None, version
    if catalog is not None:
        try:
            entry = catalog.page(version, page) or {}
            for item in catalog.versions():
                if "latest" in item.get("aliases", []):
                    default_version = item["version"]
                if item["version"] == version and item.get("aliases"):
                    label = item["aliases"][0]
        except CatalogUnavailable:
            pass  # routing and weighting fall back to patterns; the feedback is not lost
    facts = triage.PageFacts(
        url=page,
        title=entry.get("title", ""),
        owner=entry.get("owner", "") or "",
        priority=entry.get("priority"),
    )
    return PageFactsAndVersion(facts, label, version == default_version)


@dataclass(frozen=True, slots=True)
class TriagedGroup:
    """The submissions of one batch that ask for work on one page of one version, and what
    triage made of them."""

    page: str
    version: str
    open_key: str
    rows: list[dict]
    facts: triage.TaskFacts
    category_why: str
    priority: str
    # The rule's text with reader counts stopped at their limits (see _priority_rule).
    bounded_rule: str
    now: datetime


@dataclass(frozen=True, slots=True)
class OpenTask:
    """What joining a group needs of the open task it joins."""

    id: int
    state: str
    priority: str
    first_responded_at: datetime | None
    first_response_due: datetime
    resolution_due: datetime


def _text(rows: list[dict]) -> str:
    return "\n".join(
        filter(None, (t for r in rows for t in (r.get("comment"), r.get("selection"))))
    )


def attach_rows(ctx: IntakeContext, conn: Connection, rows: list[dict]) -> dict[str, int | None]:
    """The GroupCommitter hook: {idempotency_key: task_id or None} for the inserted rows."""
    rollups.record(conn, rows, ctx.team_of)
    return _route(ctx, conn, rows)


def _route(ctx: IntakeContext, conn: Connection, rows: list[dict]) -> dict[str, int | None]:
    now = ctx.clock()
    result: dict[str, int | None] = {r["idempotency_key"]: None for r in rows}
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if triage.makes_work(row["rating"], row.get("comment"), row.get("selection")):
            groups.setdefault((row["page"], row["version"]), []).append(row)
    # Pages in one order in every batch: two writers take their locks in the same order.
    for (page, version), group_rows in sorted(groups.items()):
        group = _triage(ctx, conn, page=page, version=version, rows=group_rows, now=now)
        task_id = _attach_group(ctx, conn, group)
        for row in group_rows:
            result[row["idempotency_key"]] = task_id
    return result


def _triage(
    ctx: IntakeContext,
    conn: Connection,
    *,
    page: str,
    version: str,
    rows: list[dict],
    now: datetime,
    new_readers: bool = True,
) -> TriagedGroup:
    """Class and priority of a group; its readers are recorded on the way (unless they
    were already, when an amended submission is triaged again)."""
    facts_page = page_facts(ctx.catalog, version, page)
    text = _text(rows)
    first = rows[0]
    category, category_why = triage.categorise(
        ctx.policy, first["rating"], first.get("reasons") or [], text
    )
    if new_readers:
        page_readers.record(conn, page, version, rows)
    readers = page_readers.count_within(conn, page, version, ctx.reader_limits, now)
    facts = triage.TaskFacts(
        page=facts_page.page,
        version_label=facts_page.version_label,
        is_default_version=facts_page.is_default,
        category=category,
        reasons=frozenset(r for row in rows for r in (row.get("reasons") or [])),
        text=text,
        readers_within=readers,
    )
    priority, bounded_rule = triage.decide_priority(ctx.policy, facts)
    return TriagedGroup(
        page=page,
        version=version,
        open_key=triage.open_key(page, version),
        rows=rows,
        facts=facts,
        category_why=category_why,
        priority=priority,
        bounded_rule=bounded_rule,
        now=now,
    )


def _priority_rule(ctx: IntakeContext, conn: Connection, group: TriagedGroup) -> str:
    """The text of the rule that set the group's priority, as a task stores it."""
    # Counts stop at the largest threshold, which decides the same priority; but the rule's
    # text names the count, so when it is stored and a count hit its limit, the count is
    # taken again, in full. Only a new task or a raised priority stores it.
    limits = ctx.reader_limits
    readers = group.facts.readers_within
    if all(readers[window] < limit for window, limit in limits.items()):
        return group.bounded_rule
    exact = page_readers.count_within(
        conn, group.page, group.version, dict.fromkeys(limits), group.now
    )
    return triage.decide_priority(ctx.policy, replace(group.facts, readers_within=exact))[1]


def _attach_group(ctx: IntakeContext, conn: Connection, group: TriagedGroup) -> int:
    for _attempt in range(3):
        existing = conn.execute(_OPEN_TASK, {"key": group.open_key}).first()
        if existing is not None:
            _join(ctx, conn, OpenTask(**existing._mapping), group)
            return existing.id
        previous = conn.execute(
            select(tasks)
            .where(tasks.c.page == group.page, tasks.c.version == group.version)
            .order_by(tasks.c.id.desc())
            .limit(1)
        ).first()
        try:
            with conn.begin_nested():
                if previous is not None and _should_reopen(previous, group.rows):
                    _join(ctx, conn, _reopen(ctx, conn, previous, group), group)
                    return previous.id
                task_id = _create(ctx, conn, group, previous)
                _add_feedback(ctx, conn, task_id, group)
                return task_id
        except IntegrityError:
            continue  # another writer opened the page's task first: join it
    raise RuntimeError(f"could not attach feedback to a task for {group.version}/{group.page}")


def _should_reopen(previous: Row, rows: list[dict]) -> bool:
    """Negative feedback on a task resolved in this same version reopens it."""
    return (
        previous.state == "resolved"
        and previous.fixed_in_version in (None, previous.version)
        and any(row["rating"] == 0 for row in rows)
    )


def _reopen(ctx: IntakeContext, conn: Connection, task: Row, group: TriagedGroup) -> OpenTask:
    """Reopen a resolved task; the resolution clock starts again from now."""
    now = group.now
    due = triage.task_deadlines(ctx.policy, task.priority, now)
    reopened = OpenTask(
        id=task.id,
        state="triaged",
        priority=task.priority,
        first_responded_at=task.first_responded_at,
        first_response_due=task.first_response_due,
        resolution_due=due.resolution_due,
    )
    conn.execute(
        update(tasks)
        .where(tasks.c.id == task.id, tasks.c.state == "resolved")
        .values(
            state=reopened.state,
            open_key=group.open_key,
            reopened_count=tasks.c.reopened_count + 1,
            resolved_at=None,
            updated_at=now,
            due_at=triage.due_at(
                reopened.state,
                first_responded_at=reopened.first_responded_at,
                first_response_due=reopened.first_response_due,
                resolution_due=reopened.resolution_due,
            ),
            resolution_due=due.resolution_due,
            resolution_warn_at=due.resolution_warn_at,
            resolution_warned_at=None,
            resolution_breached_at=None,
        )
    )
    log_event(
        conn,
        task.id,
        "state",
        before="resolved",
        after=reopened.state,
        reason="reopened: new negative feedback in the version it was fixed in",
        at=now,
    )
    return reopened


def _create(ctx: IntakeContext, conn: Connection, group: TriagedGroup, previous: Row | None) -> int:
    """Open a task for the group, routed to its team and, when one is free, an owner."""
    rule = _priority_rule(ctx, conn, group)
    now = group.now
    members = routing_members(conn)
    team, owner_id, route_why = triage.route_team(
        group.facts.page, ctx.owners, ctx.default_team, members
    )
    if owner_id is None:
        chosen = triage.pick_member(members, team, 1)
        owner_id = chosen.id if chosen else None
    due = triage.task_deadlines(ctx.policy, group.priority, now)
    state = "new"
    task_id = conn.execute(
        insert(tasks)
        .values(
            page=group.page,
            version=group.version,
            open_key=group.open_key,
            state=state,
            category=group.facts.category,
            priority=group.priority,
            priority_rule=rule,
            team=team,
            owner_id=owner_id,
            tier=1,
            feedback_count=0,
            reader_count=0,
            created_at=now,
            updated_at=now,
            first_response_due=due.first_response_due,
            first_response_warn_at=due.first_response_warn_at,
            resolution_due=due.resolution_due,
            resolution_warn_at=due.resolution_warn_at,
            due_at=triage.due_at(
                state,
                first_responded_at=None,
                first_response_due=due.first_response_due,
                resolution_due=due.resolution_due,
            ),
            reopened_count=0,
            breached=False,
            previous_task_id=previous.id if previous is not None else None,
        )
        .returning(tasks.c.id)
    ).scalar_one()
    opened = (
        f"opened as a {group.facts.category} ({group.category_why}); routed to {team} ({route_why})"
    )
    if previous is not None:
        opened += f"; follows task {previous.id}"
    log_event(conn, task_id, "state", after=state, reason=opened, at=now)
    log_event(conn, task_id, "priority", after=group.priority, reason=rule, at=now)
    if owner_id is not None:
        name = conn.execute(select(users.c.name).where(users.c.id == owner_id)).scalar_one()
        reason = "fewest open tasks in the team"
        log_event(conn, task_id, "owner", after=name, reason=reason, at=now)
    return task_id


def _join(ctx: IntakeContext, conn: Connection, task: OpenTask, group: TriagedGroup) -> None:
    """Add the group to an open task, raising its priority when a rule says so."""
    _raise_priority(ctx, conn, task, group)
    _add_feedback(ctx, conn, task.id, group)


def _raise_priority(
    ctx: IntakeContext, conn: Connection, task: OpenTask, group: TriagedGroup
) -> None:
    """A rule that asks for more than the task's priority raises it; nothing lowers it."""
    if triage.priority_rank(group.priority) < triage.priority_rank(task.priority):
        # The due times shrink, but never to before now.
        due = triage.task_deadlines(ctx.policy, group.priority, group.now)
        rule = _priority_rule(ctx, conn, group)
        values = {"priority": group.priority, "priority_rule": rule}
        first_response_due, resolution_due = task.first_response_due, task.resolution_due
        if task.first_responded_at is None and due.first_response_due < first_response_due:
            first_response_due = due.first_response_due
            values |= {
                "first_response_due": first_response_due,
                "first_response_warn_at": due.first_response_warn_at,
            }
        if due.resolution_due < resolution_due:
            resolution_due = due.resolution_due
            values |= {
                "resolution_due": resolution_due,
                "resolution_warn_at": due.resolution_warn_at,
            }
        values["due_at"] = triage.due_at(
            task.state,
            first_responded_at=task.first_responded_at,
            first_response_due=first_response_due,
            resolution_due=resolution_due,
        )
        conn.execute(update(tasks).where(tasks.c.id == task.id).values(**values))
        log_event(
            conn,
            task.id,
            "priority",
            before=task.priority,
            after=group.priority,
            reason=rule,
            at=group.now,
        )


def _add_feedback(ctx: IntakeContext, conn: Connection, task_id: int, group: TriagedGroup) -> None:
    ids = [row["id"] for row in group.rows]
    # Counted incrementally: a full count(distinct) over the task's rows on every batch grew
    # with the task and doubled the ingest endpoint's CPU per request.
    clients = sorted({row["client_hash"] for row in group.rows if row.get("client_hash")})
    counts = {"task": task_id, "submissions": len(ids), "now": group.now}
    counts |= {f"client_{i}": client for i, client in enumerate(clients)}
    _count_on_task(len(clients)).execute(conn, counts)
    # Padded to a size compiled before (store/writer.py: padded); the repeated id moves once.
    moves = {"task": task_id} | {f"id_{i}": id_ for i, id_ in enumerate(padded(ids))}
    _move_to_task(len(moves) - 1).execute(conn, moves)
    log_event(
        conn,
        task_id,
        "feedback",
        after=",".join(map(str, ids)),
        reason=f"{len(ids)} submission(s) joined",
        at=group.now,
    )
    title = group.facts.page.title or group.page or "Home"
    notify.enqueue_ack(conn, task_id, group.rows, title, ctx.mail, group.now)


def recount(conn: Connection, task_id: int, now: datetime) -> None:
    counts = select(func.count(), func.count(func.distinct(feedback.c.client_hash))).where(
        feedback.c.task_id == task_id
    )
    total, readers = conn.execute(counts).one()
    conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id)
        .values(feedback_count=total, reader_count=readers, updated_at=now)
    )


def attach_amended(ctx: IntakeContext, conn: Connection, row: dict) -> int | None:
    """After an amend: a row that now makes work joins a task; a row already on an open task
    is triaged again as the complete submission it now is; a reader who now gave an address
    with consent gets the acknowledgement (once per submission); a row the writer has not
    routed yet is routed now, complete, as it would have been (its rating counted too)."""
    if not row.get("routed", True) and claim(conn, feedback, [row["id"]]):
        return attach_rows(ctx, conn, [row])[row["idempotency_key"]]
    task_id = row.get("task_id")
    if task_id is None:
        return _route(ctx, conn, [row])[row["idempotency_key"]]  # its rating is counted
    _triage_again(ctx, conn, task_id, row)
    if row.get("notify") and row.get("email"):
        acked = conn.execute(
            select(notify.outbox.c.id).where(
                notify.outbox.c.feedback_id == row["id"], notify.outbox.c.kind == "ack"
            )
        ).first()
        if acked is None:
            title = page_facts(ctx.catalog, row["version"], row["page"]).page.title
            title = title or row["page"] or "Home"
            notify.enqueue_ack(conn, task_id, [row], title, ctx.mail, ctx.clock())
    return task_id


def _triage_again(ctx: IntakeContext, conn: Connection, task_id: int, row: dict) -> None:
    # The widget stores the rating first and adds reasons, a comment or a passage a moment
    # later: the rules must see the complete submission. A task this submission opened
    # alone takes its class from it; any task may have its priority raised, never lowered.
    task = conn.execute(
        select(*_OPEN_TASK.selected_columns, tasks.c.category, tasks.c.feedback_count)
        .where(tasks.c.id == task_id)
        .with_for_update()
    ).first()
    if task is None or not triage.is_open(task.state):
        return
    group = _triage(
        ctx,
        conn,
        page=row["page"],
        version=row["version"],
        rows=[row],
        now=ctx.clock(),
        new_readers=False,
    )
    category = group.facts.category
    if task.feedback_count == 1 and category != task.category:
        conn.execute(update(tasks).where(tasks.c.id == task_id).values(category=category))
        reason = f"the submission was completed: {group.category_why}"
        log_event(
            conn,
            task_id,
            "category",
            before=task.category,
            after=category,
            reason=reason,
            at=group.now,
        )
    open_task = OpenTask(**{name: task._mapping[name] for name in OpenTask.__slots__})
    _raise_priority(ctx, conn, open_task, group)
