"""The SLA sweep: route tasks nobody could take, warn at the warning time, escalate on a
breach, close old finished tasks.

Safe to run from several machines at once: each step first claims a task with a conditional
UPDATE (`... WHERE id = :id AND response_breached_at IS NULL`), and only the sweep whose
UPDATE changed the row acts on it, so a task is warned, escalated or closed exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from feedback_api.store.models import Task

from . import notify, page_readers
from .accounts import routing_members
from .audit import log_event
from .core import triage
from .core.policy import TriagePolicy

tasks = Task.__table__
OPEN = tasks.c.state.in_(triage.OPEN_STATES)


@dataclass
class SweepReport:
    warned: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    routed: list[int] = field(default_factory=list)
    addresses_deleted: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.warned)} warned, {len(self.escalated)} escalated, "
            f"{len(self.closed)} closed, {self.addresses_deleted} reader addresses deleted, "
            f"{len(self.routed)} unassigned tasks routed"
        )


@dataclass(frozen=True)
class _Clock:
    """One SLA clock of a task: its due column, its warning column, and its flags."""

    name: str
    due: str
    warn_at: str
    warned: str
    breached: str
    running: object  # the condition under which this clock still runs


CLOCKS = (
    _Clock(
        name="first response",
        due="first_response_due",
        warn_at="first_response_warn_at",
        warned="response_warned_at",
        breached="response_breached_at",
        running=OPEN & tasks.c.first_responded_at.is_(None),
    ),
    _Clock(
        name="resolution",
        due="resolution_due",
        warn_at="resolution_warn_at",
        warned="resolution_warned_at",
        breached="resolution_breached_at",
        running=OPEN,
    ),
)


def sweep(
    engine: Engine, policy: TriagePolicy, public_url: str, now: datetime | None = None
) -> SweepReport:
    now = now or datetime.now(UTC)
    report = SweepReport()
    _route_unassigned(engine, now, report)
    for clock in CLOCKS:
        _warnings(engine, clock, public_url, now, report)
        _breaches(engine, clock, public_url, now, report)
    _close_finished(engine, policy, now, report)
    with engine.begin() as conn:
        report.addresses_deleted = notify.purge_addresses(conn)
        if policy.windows():  # a reader past the longest window counts in no rule
            page_readers.prune(conn, now - timedelta(hours=max(policy.windows())))
    return report


def _candidates(engine: Engine, *conditions) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(select(tasks.c.id).where(*conditions).order_by(tasks.c.id)))


def _route_unassigned(engine: Engine, now: datetime, report: SweepReport) -> None:
    # A task opened while its team had nobody (the tutorial's own order: feedback first,
    # reviewers later) goes to a member as soon as one exists, by the intake's own rule.
    pending = (OPEN, tasks.c.owner_id.is_(None))
    for task_id in _candidates(engine, *pending):
        with engine.begin() as conn:
            task = conn.execute(select(tasks).where(tasks.c.id == task_id, *pending)).first()
            if task is None:
                continue
            chosen = triage.pick_member(routing_members(conn), task.team, task.tier)
            if chosen is None:
                continue
            claimed = conn.execute(
                update(tasks).where(tasks.c.id == task_id, *pending).values(owner_id=chosen.id)
            )
            if claimed.rowcount != 1:
                continue  # someone took it meanwhile
            reason = f"fewest open tasks in the team; {task.team} had nobody when it opened"
            log_event(conn, task_id, "owner", after=chosen.name, reason=reason, at=now)
        report.routed.append(task_id)


def _warnings(engine, clock: _Clock, public_url, now, report) -> None:
    warned, due = tasks.c[clock.warned], tasks.c[clock.due]
    pending = (clock.running, warned.is_(None), tasks.c[clock.warn_at] <= now, due > now)
    for task_id in _candidates(engine, *pending):
        with engine.begin() as conn:
            claimed = conn.execute(
                update(tasks).where(tasks.c.id == task_id, *pending).values({warned: now})
            )
            if claimed.rowcount != 1:
                continue  # another sweep got there first
            task = conn.execute(select(tasks).where(tasks.c.id == task_id)).one()
            due_at = f"{task._mapping[clock.due]:%Y-%m-%d %H:%M} UTC"
            log_event(
                conn,
                task_id,
                "sla",
                after=f"{clock.name} warning",
                reason=f"{clock.name} due {due_at}",
                at=now,
            )
            if task.owner_id:
                notify.enqueue_staff(
                    conn,
                    task_id,
                    [task.owner_id],
                    "warning",
                    f"Task {task_id} is due soon ({clock.name})",
                    f"Task {task_id} ({task.priority}, {task.version}/{task.page}) needs its "
                    f"{clock.name} by {due_at}.",
                    public_url,
                    now,
                )
        report.warned.append(task_id)


def _breaches(engine, clock: _Clock, public_url, now, report) -> None:
    breached = tasks.c[clock.breached]
    pending = (clock.running, breached.is_(None), tasks.c[clock.due] <= now)
    with engine.connect() as conn:
        found = conn.execute(
            select(tasks.c.id, tasks.c.tier).where(*pending).order_by(tasks.c.id)
        ).all()
    for task_id, tier in found:
        with engine.begin() as conn:
            # Conditional on the tier we read, so the audit can say from which tier it went.
            claimed = conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.tier == tier, *pending)
                .values(
                    {
                        breached: now,
                        tasks.c.breached: True,
                        tasks.c.updated_at: now,
                        tasks.c.tier: triage.escalated_tier(tier),
                    }
                )
            )
            if claimed.rowcount != 1:
                continue
            task = conn.execute(select(tasks).where(tasks.c.id == task_id)).one()
            _escalate(conn, task, tier, clock, public_url, now)
        report.escalated.append(task_id)


def _escalate(conn, task, before_tier: int, clock: _Clock, public_url: str, now) -> None:
    """Hand the task to the next tier of its team and tell that tier (the top tier stays)."""
    why = f"{clock.name} overdue (due {task._mapping[clock.due]:%Y-%m-%d %H:%M} UTC)"
    if task.tier != before_tier:
        log_event(conn, task.id, "tier", before=before_tier, after=task.tier, reason=why, at=now)
    else:
        log_event(conn, task.id, "sla", after=f"{clock.name} breached", reason=why, at=now)
    members = routing_members(conn)
    chosen = triage.pick_member(members, task.team, task.tier)
    if chosen is not None and chosen.id != task.owner_id:
        before = next((m.name for m in members if m.id == task.owner_id), None)
        conn.execute(update(tasks).where(tasks.c.id == task.id).values(owner_id=chosen.id))
        log_event(
            conn,
            task.id,
            "owner",
            before=before,
            after=chosen.name,
            reason=f"escalated to tier {task.tier}",
            at=now,
        )
    tier_ids = [m.id for m in members if m.team == task.team and m.tier == task.tier]
    notify.enqueue_staff(
        conn,
        task.id,
        tier_ids,
        "escalation",
        f"Task {task.id} escalated to tier {task.tier}: {why}",
        f"Task {task.id} ({task.priority}, {task.version}/{task.page}) breached its "
        f"{clock.name} time and is now with tier {task.tier} of {task.team}.\n"
        f"Rule: {task.priority_rule}",
        public_url,
        now,
    )
    log_event(conn, task.id, "notify", after=f"tier {task.tier} of {task.team}", reason=why, at=now)


def _close_finished(engine, policy: TriagePolicy, now: datetime, report: SweepReport) -> None:
    cutoff = now - timedelta(days=policy.close_after_days)
    pending = (tasks.c.state.in_(triage.FINISHED_STATES), tasks.c.updated_at <= cutoff)
    with engine.connect() as conn:
        rows = conn.execute(select(tasks.c.id, tasks.c.state).where(*pending)).all()
    for task_id, state in rows:
        with engine.begin() as conn:
            claimed = conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.state == state)
                .values(state="closed", closed_at=now, updated_at=now)
            )
            if claimed.rowcount != 1:
                continue
            log_event(
                conn,
                task_id,
                "state",
                before=state,
                after="closed",
                reason=f"closed by the sweep after {policy.close_after_days} days",
                at=now,
            )
        report.closed.append(task_id)
