"""The audit trail: one append-only entry per change to a task, written in the change's own
transaction (the table is never updated or deleted from).

Intake and the sweep write on a Core connection; the reviewer operations (tasks.py) write from
an ORM session through `record`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, insert
from sqlalchemy.orm import Session

from feedback_api.store.models import Task, TaskEvent, User
from feedback_api.store.prepared import Prepared

events = TaskEvent.__table__

# Intake writes several entries per batch while the writers' lock is held: the statement is
# compiled once and run through the driver (store/prepared.py).
_INSERT_EVENT = Prepared(
    insert(events)
    .values(
        {
            name: bindparam(name, type_=events.c[name].type)
            for name in ("task_id", "actor_id", "at", "kind", "from_value", "to_value", "reason")
        }
    )
    .inline()  # no RETURNING of the new id on PostgreSQL: nobody reads it
)


def log_event(
    conn: Connection,
    task_id: int,
    kind: str,
    *,
    before: object = None,
    after: object = None,
    reason: str | None = None,
    at: datetime,
    actor_id: int | None = None,
) -> None:
    """Append one entry; `before` and `after` are stored as text (None stays NULL)."""
    _INSERT_EVENT.execute(
        conn,
        {
            "task_id": task_id,
            "actor_id": actor_id,
            "at": at,
            "kind": kind,
            "from_value": None if before is None else str(before),
            "to_value": None if after is None else str(after),
            "reason": reason,
        },
    )


def record(
    session: Session,
    task: Task,
    kind: str,
    *,
    before: object = None,
    after: object = None,
    reason: str | None = None,
    actor: User | None,
    at: datetime,
) -> None:
    """Append one entry from a reviewer operation; `actor` None is the product itself."""
    log_event(
        session.connection(),
        task.id,
        kind,
        before=before,
        after=after,
        reason=reason,
        at=at,
        actor_id=actor.id if actor else None,
    )
