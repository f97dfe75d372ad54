"""The least a power-loss-safe acknowledgement costs with this server configuration.

The no-op of `noop_app`, plus what any durable ingest has to do before it answers: append
the body to a file and fdatasync it. The requests of a worker share their fsyncs (group
commit: whoever finds none under way writes and syncs everything queued). No validation,
no database, no review task. Its ratio to the no-op is a ceiling for the real endpoint's.
"""

import os
import threading
import time
import uuid
from pathlib import Path

from flask import Flask, jsonify, request

app = Flask(__name__)


class GroupCommit:
    """Group commit within a worker: `commit(item)` returns once `item` is durable, with
    its outcome; whoever finds no commit under way commits everything queued, in one
    `_commit_batch` (which subclasses define). `contract_floor_app` commits this way too."""

    def __init__(self):
        self._cond = threading.Condition()
        self._queued: list[list] = []  # [item, outcome] slots
        self._syncing = False
        self._next = 1  # the generation a body queued now is synced with
        self._synced = 0

    def commit(self, item):
        """Return `item`'s outcome once it is on disk (or raise the commit's error)."""
        slot = [item, None]
        with self._cond:
            self._queued.append(slot)
            mine = self._next
            while self._synced < mine:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing = True
                # Under gevent the fsync holds the worker: let the ready requests queue first.
                self._cond.release()
                time.sleep(0)
                self._cond.acquire()
                batch, self._queued = self._queued, []
                generation, self._next = self._next, self._next + 1
                self._cond.release()
                try:
                    try:
                        outcomes = self._commit_batch([item for item, _ in batch])
                    except Exception as exc:  # every request of the batch gets the error
                        outcomes = [exc] * len(batch)
                    for waiting, outcome in zip(batch, outcomes, strict=True):
                        waiting[1] = outcome
                finally:
                    self._cond.acquire()
                    self._syncing = False
                self._synced = generation
                self._cond.notify_all()
        if isinstance(slot[1], Exception):
            raise slot[1]
        return slot[1]

    def _commit_batch(self, items: list) -> list:
        raise NotImplementedError


class GroupAppend(GroupCommit):
    def __init__(self, directory: Path):
        super().__init__()
        self.path = directory / f"durable-{uuid.uuid4().hex}.log"  # one file per worker
        self._fd: int | None = None

    def _commit_batch(self, bodies: list[bytes]) -> list[None]:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self._fd, b"\n".join(bodies) + b"\n")
        os.fdatasync(self._fd)
        return [None] * len(bodies)


_log = GroupAppend(Path(os.environ.get("TIDEWAY_BENCH_DURABLE_DIR", "/tmp")))


@app.post("/api/v1/feedback")
def durable_noop():
    body = request.get_json()
    _log.commit(request.get_data())
    return jsonify({"id": 1, "idempotency_key": body.get("idempotency_key")}), 201
