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


class GroupAppend:
    def __init__(self, directory: Path):
        self.path = directory / f"durable-{uuid.uuid4().hex}.log"  # one file per worker
        self._fd: int | None = None
        self._cond = threading.Condition()
        self._queued: list[bytes] = []
        self._syncing = False
        self._next = 1  # the generation a body queued now is synced with
        self._synced = 0

    def append(self, body: bytes) -> None:
        """Return once `body` is on disk."""
        with self._cond:
            self._queued.append(body)
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
                    self._write(b"\n".join(batch) + b"\n")
                finally:
                    self._cond.acquire()
                    self._syncing = False
                self._synced = generation
                self._cond.notify_all()

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self._fd, data)
        os.fdatasync(self._fd)


_log = GroupAppend(Path(os.environ.get("TIDEWAY_BENCH_DURABLE_DIR", "/tmp")))


@app.post("/api/v1/feedback")
def durable_noop():
    body = request.get_json()
    _log.append(request.get_data())
    return jsonify({"id": 1, "idempotency_key": body.get("idempotency_key")}), 201
