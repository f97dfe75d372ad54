"""The SLA sweep on both stores: warnings, escalation one tier up, closing; run concurrently
it still acts once per task."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from feedback_api.review.core.policy import TriagePolicy
from feedback_api.review.sweep import sweep
from feedback_api.store import make_engine
from feedback_api.store.models import Outbox, Task, TaskEvent
from tests import review_fixtures
from tests.review_fixtures import cli, send

reviewers = review_fixtures.reviewers
POLICY = TriagePolicy()
URL = "http://docs.example/"


def load(app, task_id: int) -> tuple[Task, list[TaskEvent]]:
    with app.extensions["store"].transaction() as session:
        task = session.get(Task, task_id)
        events = list(session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id)))
        session.expunge_all()
    return task, events


def test_warning_then_breach_escalates_one_tier(app, client, reviewers):
    task_id = send(client, page="quickstart/")["task_id"]  # normal: 4 h to respond
    engine = app.extensions["store"].engine
    task, _ = load(app, task_id)
    assert (task.tier, task.priority) == (1, "normal")

    before_warning = sweep(engine, POLICY, URL, now=task.created_at + timedelta(hours=2))
    assert task_id not in before_warning.warned
    warned = sweep(engine, POLICY, URL, now=task.created_at + timedelta(hours=3, minutes=1))
    assert warned.warned == [task_id] and not warned.escalated
    assert (
        sweep(engine, POLICY, URL, now=task.created_at + timedelta(hours=3, minutes=2)).warned == []
    )

    breached = sweep(engine, POLICY, URL, now=task.created_at + timedelta(hours=4, minutes=1))
    assert breached.escalated == [task_id]
    task, events = load(app, task_id)
    assert task.tier == 2 and task.breached and task.response_breached_at is not None
    owner_changes = [(e.from_value, e.to_value) for e in events if e.kind == "owner"]
    assert owner_changes[-1] == ("ana", "bo")  # the tier-2 member of docs-team
    tiers = [(e.from_value, e.to_value, e.reason) for e in events if e.kind == "tier"]
    assert tiers == [("1", "2", tiers[0][2])] and "first response overdue" in tiers[0][2]
    with app.extensions["store"].transaction() as session:
        mail = list(session.scalars(select(Outbox).where(Outbox.task_id == task_id)))
    kinds = sorted((m.kind, m.to_address) for m in mail)
    assert ("warning", "ana@example.test") in kinds
    assert ("escalation", "bo@example.test") in kinds

    # Nobody responds: the resolution clock breaches too, and tier 3 takes over.
    late = task.resolution_due + timedelta(minutes=1)
    assert sweep(engine, POLICY, URL, now=late).escalated == [task_id]
    assert load(app, task_id)[0].tier == 3
    # Tier 3 is the top: nothing further, however often the sweep runs.
    assert sweep(engine, POLICY, URL, now=late + timedelta(days=1)).escalated == []


def test_a_response_in_time_stops_the_response_clock(app, client, reviewers):
    task_id = send(client, page="quickstart/")["task_id"]
    response = client.post(f"/api/v1/tasks/{task_id}/transitions", json={"action": "triage"},
                           headers=reviewers.auth("ana"))  # fmt: skip
    assert response.status_code == 200
    task, _ = load(app, task_id)
    report = sweep(app.extensions["store"].engine, POLICY, URL,
                   now=task.first_response_due + timedelta(hours=1))  # fmt: skip
    assert report.escalated == [] and load(app, task_id)[0].tier == 1


def test_two_sweeps_at_once_escalate_each_task_once(app, client, reviewers, store_url):
    ids = [send(client, page=page, version=version)["task_id"]
           for page in ("", "quickstart/", "reference/api/", "reference/configuration/")
           for version in ("0.1", "0.0.9")]  # fmt: skip
    now = datetime.now(UTC) + timedelta(days=30)
    engines = [make_engine(store_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    reports = [None, None]

    def run(index: int) -> None:
        barrier.wait()
        reports[index] = sweep(engines[index], POLICY, URL, now=now)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    escalated = sorted(reports[0].escalated + reports[1].escalated)
    # Each task breaches both clocks at once: two escalations each, one per clock, never more.
    assert escalated == sorted(ids * 2)
    for task_id in ids:
        task, events = load(app, task_id)
        assert task.tier == 3
        assert len([e for e in events if e.kind == "tier"]) == 2


def test_finished_tasks_are_closed_after_the_configured_days(app, client, reviewers):
    task_id = send(client, page="quickstart/")["task_id"]
    client.post(f"/api/v1/tasks/{task_id}/transitions", headers=reviewers.auth("ana"),
                json={"action": "wont_fix", "reason": "by design"})  # fmt: skip
    engine = app.extensions["store"].engine
    soon = datetime.now(UTC) + timedelta(days=13)
    assert sweep(engine, POLICY, URL, now=soon).closed == []
    later = datetime.now(UTC) + timedelta(days=15)
    assert sweep(engine, POLICY, URL, now=later).closed == [task_id]
    task, events = load(app, task_id)
    assert task.state == "closed" and task.closed_at == later
    assert events[-1].reason == "closed by the sweep after 14 days"


def test_the_sweep_command(app, client, reviewers):
    send(client, page="quickstart/")
    out = cli(app, "sla", "sweep")
    assert out.startswith("SLA sweep: 0 warned, 0 escalated, 0 closed")
    assert "no SMTP server is set" in out  # mail waits in the outbox


def test_a_task_opened_before_any_reviewer_is_routed_once_one_exists(app, client):
    # The tutorial's order: a reader's feedback first, the first reviewer afterwards.
    task_id = send(client, page="quickstart/")["task_id"]
    engine = app.extensions["store"].engine
    assert load(app, task_id)[0].owner_id is None
    assert sweep(engine, POLICY, URL).routed == []  # still nobody: nothing to do

    cli(app, "users", "create", "ana", "--email", "ana@example.test", "--team", "docs-team")
    report = sweep(engine, POLICY, URL)
    assert report.routed == [task_id]
    task, events = load(app, task_id)
    assert task.owner_id is not None
    owners = [(e.to_value, e.reason) for e in events if e.kind == "owner"]
    assert owners == [("ana", owners[0][1])] and "had nobody" in owners[0][1]
    assert sweep(engine, POLICY, URL).routed == []  # once
