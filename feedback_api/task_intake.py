"""Feedback lands on tasks: the group committer's hook, inside the batch's own transaction.

For each page and version in the batch, the feedback that makes work joins the open task,
reopens a task resolved in that same version (negative feedback only), or opens a new one
linked to the page's earlier task. The `open_key` unique constraint keeps one open task per
page and version even when several processes write at once: a loser of that race retries
inside a savepoint and joins the winner's task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import notify, triage
from .catalog import CatalogUnavailable, SiteCatalog
from .store.models import Feedback, Task, TaskEvent, User
from .triage_policy import OwnerRule, TriagePolicy

feedback = Feedback.__table__
tasks = Task.__table__
events = TaskEvent.__table__
users = User.__table__


@dataclass
class IntakeContext:
    """What the hook needs, captured when the app is built (it runs off any request)."""

    policy: TriagePolicy
    owners: list[OwnerRule]
    default_team: str
    catalog: SiteCatalog | None
    public_url: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


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


@dataclass(frozen=True)
class PageFactsAndVersion:
    page: triage.PageFacts
    version_label: str
    is_default: bool


def _text(rows: list[dict]) -> str:
    return "\n".join(
        filter(None, (t for r in rows for t in (r.get("comment"), r.get("selection"))))
    )


def _readers_within(conn: Connection, page: str, version: str, hours: set[int], now: datetime):
    work = or_(feedback.c.rating == 0, feedback.c.comment.is_not(None),
               feedback.c.selection.is_not(None))  # fmt: skip
    counts = {}
    for window in hours:
        counts[window] = conn.execute(
            select(func.count(func.distinct(feedback.c.client_hash))).where(
                feedback.c.page == page,
                feedback.c.version == version,
                work,
                feedback.c.created_at >= now - timedelta(hours=window),
            )  # fmt: skip
        ).scalar_one()
    return counts


def _members(conn: Connection) -> list[triage.Member]:
    open_counts = dict(
        conn.execute(
            select(tasks.c.owner_id, func.count())
            .where(tasks.c.state.in_(triage.OPEN_STATES), tasks.c.owner_id.is_not(None))
            .group_by(tasks.c.owner_id)
        ).all()
    )
    return [
        triage.Member(u.id, u.name, u.team, u.tier, open_counts.get(u.id, 0))
        for u in conn.execute(select(users).where(users.c.active.is_(True)))
    ]


def log_event(conn: Connection, task_id: int, kind: str, before, after, reason: str | None,
              now: datetime, actor_id: int | None = None) -> None:  # fmt: skip
    conn.execute(
        insert(events).values(
            task_id=task_id,
            actor_id=actor_id,
            at=now,
            kind=kind,
            from_value=None if before is None else str(before),
            to_value=None if after is None else str(after),
            reason=reason,
        )  # fmt: skip
    )


def attach_rows(ctx: IntakeContext, conn: Connection, rows: list[dict]) -> dict[str, int | None]:
    """The GroupCommitter hook: {idempotency_key: task_id or None} for the inserted rows."""
    now = ctx.clock()
    result: dict[str, int | None] = {r["idempotency_key"]: None for r in rows}
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if triage.makes_work(row["rating"], row.get("comment"), row.get("selection")):
            groups.setdefault((row["page"], row["version"]), []).append(row)
    for (page, version), group in groups.items():
        task_id = _attach_group(ctx, conn, page, version, group, now)
        for row in group:
            result[row["idempotency_key"]] = task_id
    return result


def _attach_group(ctx, conn, page, version, group, now) -> int:
    key = triage.open_key(page, version)
    facts_page = page_facts(ctx.catalog, version, page)
    text = _text(group)
    first = group[0]
    category, category_why = triage.categorise(
        ctx.policy, first["rating"], first.get("reasons") or [], text
    )
    readers = _readers_within(conn, page, version, ctx.policy.windows(), now)
    facts = triage.TaskFacts(
        page=facts_page.page, version_label=facts_page.version_label,
        is_default_version=facts_page.is_default, category=category,
        reasons=frozenset(r for row in group for r in (row.get("reasons") or [])),
        text=text, readers_within=readers,
    )  # fmt: skip
    priority, rule = triage.decide_priority(ctx.policy, facts)
    for _attempt in range(3):
        existing = conn.execute(
            select(tasks).where(tasks.c.open_key == key).with_for_update()
        ).first()
        if existing is not None:
            _join(ctx, conn, existing, group, priority, rule, now)
            return existing.id
        previous = conn.execute(
            select(tasks)
            .where(tasks.c.page == page, tasks.c.version == version)
            .order_by(tasks.c.id.desc())
            .limit(1)
        ).first()
        try:
            with conn.begin_nested():
                if previous is not None and _should_reopen(previous, group):
                    _reopen(ctx, conn, previous, key, now)
                    _join(ctx, conn, previous, group, priority, rule, now, reopened=True)
                    return previous.id
                task_id = _create(ctx, conn, facts, version, category, category_why, priority,
                                  rule, key, previous, now)  # fmt: skip
                _add_feedback(ctx, conn, task_id, group, now, facts_page.page.title)
                return task_id
        except IntegrityError:
            continue  # another writer opened the page's task first: join it
    raise RuntimeError(f"could not attach feedback to a task for {version}/{page}")


def _should_reopen(previous, group: list[dict]) -> bool:
    """Negative feedback on a task resolved in this same version reopens it."""
    return (
        previous.state == "resolved"
        and previous.fixed_in_version in (None, previous.version)
        and any(row["rating"] == 0 for row in group)
    )


def _reopen(ctx: IntakeContext, conn: Connection, task, key: str, now: datetime) -> None:
    due = triage.task_deadlines(ctx.policy, task.priority, now)
    conn.execute(
        update(tasks)
        .where(tasks.c.id == task.id, tasks.c.state == "resolved")
        .values(
            state="triaged",
            open_key=key,
            reopened_count=tasks.c.reopened_count + 1,
            resolved_at=None,
            updated_at=now,
            due_at=due.resolution_due,
            resolution_due=due.resolution_due,
            resolution_warn_at=due.resolution_warn_at,
            resolution_warned_at=None,
            resolution_breached_at=None,
        )  # fmt: skip
    )
    log_event(conn, task.id, "state", "resolved", "triaged",
              "reopened: new negative feedback in the version it was fixed in", now)  # fmt: skip


def _create(
    ctx, conn, facts, version, category, category_why, priority, rule, key, previous, now
) -> int:
    members = _members(conn)
    team, owner_id, route_why = triage.route_team(facts.page, ctx.owners, ctx.default_team, members)
    if owner_id is None:
        chosen = triage.pick_member(members, team, 1)
        owner_id = chosen.id if chosen else None
    due = triage.task_deadlines(ctx.policy, priority, now)
    task_id = conn.execute(
        insert(tasks)
        .values(
            page=facts.page.url,
            version=version,
            open_key=key,
            state="new",
            category=category,
            priority=priority,
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
            due_at=due.first_response_due,
            reopened_count=0,
            breached=False,
            previous_task_id=previous.id if previous is not None else None,
        )  # fmt: skip
        .returning(tasks.c.id)
    ).scalar_one()
    log_event(conn, task_id, "state", None, "new",
              f"opened as a {category} ({category_why}); routed to {team} ({route_why})"
              + (f"; follows task {previous.id}" if previous is not None else ""), now)  # fmt: skip
    log_event(conn, task_id, "priority", None, priority, rule, now)
    if owner_id is not None:
        name = conn.execute(select(users.c.name).where(users.c.id == owner_id)).scalar_one()
        log_event(conn, task_id, "owner", None, name, "fewest open tasks in the team", now)
    return task_id


def _join(ctx, conn, task, group, priority, rule, now, reopened=False) -> None:
    if triage.priority_rank(priority) < triage.priority_rank(task.priority):
        # A rule raises the priority: the due times shrink, but never to before now.
        due = triage.task_deadlines(ctx.policy, priority, now)
        values = {"priority": priority, "priority_rule": rule}
        if task.first_responded_at is None and due.first_response_due < task.first_response_due:
            values |= {"first_response_due": due.first_response_due,
                       "first_response_warn_at": due.first_response_warn_at}  # fmt: skip
        if due.resolution_due < task.resolution_due:
            values |= {"resolution_due": due.resolution_due,
                       "resolution_warn_at": due.resolution_warn_at}  # fmt: skip
        first_due = values.get("first_response_due", task.first_response_due)
        values["due_at"] = (
            first_due if task.first_responded_at is None
            else values.get("resolution_due", task.resolution_due)
        )  # fmt: skip
        conn.execute(update(tasks).where(tasks.c.id == task.id).values(**values))
        log_event(conn, task.id, "priority", task.priority, priority, rule, now)
    title = page_facts(ctx.catalog, task.version, task.page).page.title
    _add_feedback(ctx, conn, task.id, group, now, title)


def _add_feedback(ctx, conn, task_id: int, group: list[dict], now: datetime, title: str) -> None:
    ids = [row["id"] for row in group]
    # Counted incrementally: a full count(distinct) over the task's rows on every batch grew
    # with the task and doubled the ingest endpoint's CPU per request.
    hashes = {row["client_hash"] for row in group if row.get("client_hash")}
    new_readers = sum(
        1
        for client in hashes
        if conn.execute(
            select(feedback.c.id)
            .where(feedback.c.task_id == task_id, feedback.c.client_hash == client)
            .limit(1)
        ).first()
        is None
    )
    conn.execute(update(feedback).where(feedback.c.id.in_(ids)).values(task_id=task_id))
    conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id)
        .values(
            feedback_count=tasks.c.feedback_count + len(ids),
            reader_count=tasks.c.reader_count + new_readers,
            updated_at=now,
        )
    )
    log_event(conn, task_id, "feedback", None, ",".join(map(str, ids)),
              f"{len(ids)} submission(s) joined", now)  # fmt: skip
    notify.enqueue_ack(conn, task_id, group, title or group[0]["page"] or "Home",
                       ctx.public_url, now)  # fmt: skip


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
    """After an amend: a row that now makes work joins a task; a reader who now gave an
    address with consent gets the acknowledgement (once per submission)."""
    task_id = row.get("task_id")
    if task_id is None:
        return attach_rows(ctx, conn, [row])[row["idempotency_key"]]
    if row.get("notify") and row.get("email"):
        acked = conn.execute(
            select(notify.outbox.c.id).where(
                notify.outbox.c.feedback_id == row["id"], notify.outbox.c.kind == "ack"
            )
        ).first()
        if acked is None:
            title = page_facts(ctx.catalog, row["version"], row["page"]).page.title
            notify.enqueue_ack(conn, task_id, [row], title or row["page"] or "Home",
                               ctx.public_url, ctx.clock())  # fmt: skip
    return task_id
