"""The floor of the ingest contract: the durable no-op plus only the work no ingest can skip.

The durable no-op (`durable_noop_app`: the same Flask skeleton, the same group commit within
a worker), plus the product's own functions for what the contract requires of every
submission: the client's keyed hash and its rate limit, the payload's validation (FeedbackIn
with the reason sets), the published site's check of version and page, the page's rate limit
(both on the product's `machine://` counters), the request hash and amend token, a durable
insert into the SQLite store (WAL, synchronous=FULL; multi-row, one commit per group, with
the idempotency key's conflict check) and the answer serialised from FeedbackOut.

None of the product's Flask app (its middleware, hooks, blueprints, metrics), no writer
process, no review-task routing. The ingest's ratio to this server's is what the product's
own machinery costs; this server's ratio to the durable no-op is what the contract costs.
The environment is the product's (TIDEWAY_DATABASE_URL: a migrated SQLite store), and
TIDEWAY_BENCH_FLOOR_COMMIT says where the commit runs (GroupInsert).

TIDEWAY_BENCH_FLOOR_COMMIT=edge serves instead the product's own application, as gunicorn
serves it (`feedback_api.wsgi`: the fast path at its edge, the limits, the contract), with its
store replaced by the durable no-op's append (`AppendedStore`): what the product costs
without its database, so that the ingest's distance to it is the store's, hand-off included.
"""

import itertools
import json
import os
from pathlib import Path

from flask import Flask, request

from bench.durable_noop_app import GroupAppend, GroupCommit
from feedback_api.config import load_settings, resolve_secret
from feedback_api.http.body import read_json_object
from feedback_api.http.errors import APIError, register_error_handlers
from feedback_api.http.limits import IngestLimits, client_key, make_counters
from feedback_api.ingest.catalog import SiteCatalog
from feedback_api.ingest.endpoints import answer
from feedback_api.ingest.submit import parse_feedback, public_view, resolve_page, submission_row
from feedback_api.store import make_engine
from feedback_api.store.models import Feedback
from feedback_api.store.writer import GroupCommitter


class GroupInsert(GroupCommit):
    """The product's multi-row insert and commit (`GroupCommitter.commit_rows`: the writer
    lock between processes, ON CONFLICT on the idempotency key), grouped as the durable
    no-op groups its fsyncs. Nothing is routed: `on_batch` is unset.

    `in_thread`: the commit runs in a native thread of gevent's pool, so that the worker
    parses requests meanwhile. In the worker itself (as the durable no-op fsyncs), SQLite's
    one writer makes a worker that waits for the other's commit hold all its requests."""

    def __init__(self, url: str, in_thread: bool):
        super().__init__()
        self.url = url
        self.in_thread = in_thread
        self._committer: GroupCommitter | None = None
        self._pid: int | None = None

    def _commit_batch(self, rows: list[dict]) -> list:
        if self._pid != os.getpid():  # a connection made before fork() is not this worker's
            self._committer = GroupCommitter(make_engine(self.url), Feedback.__table__)
            # One connection, as the writer process holds it: one batch at a time here.
            self._committer.hold_connection()
            self._pid = os.getpid()
        if self.in_thread:
            import gevent

            return gevent.get_hub().threadpool.apply(self._committer.commit_rows, (rows,))
        return self._committer.commit_rows(rows)


class AppendedStore:
    """In the writer's place: each row appended and fdatasynced, group-committed within a
    worker, as the durable no-op appends its bodies. Every key is new (no replays)."""

    def __init__(self, log: GroupAppend):
        self.log = log
        self._ids = itertools.count(1)

    def insert(self, row: dict, timeout: float = 10.0) -> tuple[int, None]:
        self.log.commit(json.dumps(row, default=str).encode())
        return next(self._ids), None


settings = load_settings()
app = Flask(__name__)
app.config["SETTINGS"] = settings
app.config["SECRET"] = resolve_secret(settings)
app.extensions["catalog"] = SiteCatalog(site_dir=settings.site_dir)
register_error_handlers(app)
limits = IngestLimits(make_counters(settings), settings.rate_limit_client, settings.rate_limit_page)
# TIDEWAY_BENCH_FLOOR_COMMIT: `worker` (default) or `thread`, see GroupInsert; or `append`,
# the durable no-op's append instead of the store (not the contract: no idempotency), which
# tells the contract's CPU apart from SQLite's.
_where = os.environ.get("TIDEWAY_BENCH_FLOOR_COMMIT", "worker")
if _where == "append":
    _log = GroupAppend(Path(os.environ.get("TIDEWAY_BENCH_DURABLE_DIR", "/tmp")))
elif _where != "edge":
    _store = GroupInsert(settings.database_url, in_thread=_where == "thread")


@app.post("/api/v1/feedback")
def contract_floor():
    client = client_key()
    limits.check_client(client)
    data = parse_feedback(app, read_json_object(), request.headers.get("Idempotency-Key"))
    version = resolve_page(app, data)
    limits.check_page(version, data.page)
    row, token = submission_row(app, data, version, client)
    if _where == "append":
        _log.commit(request.get_data())
        stored = (1, None)
    else:
        stored = _store.commit(row)
    if stored is None:
        # A replay: the product reads the stored row and compares request hashes. The
        # benchmark sends none (every key is new), so the floor does not carry that path.
        raise APIError(409, "replay_not_measured", "This benchmark server takes new keys only.")
    row["id"], row["task_id"] = stored
    return answer(public_view(row, token), 201)


if _where == "edge":
    from feedback_api import create_app
    from feedback_api.wsgi import build

    _product = create_app({"writer_socket": ""})
    _product.extensions["writer"] = AppendedStore(
        GroupAppend(Path(os.environ.get("TIDEWAY_BENCH_DURABLE_DIR", "/tmp")))
    )
    app = build(_product)  # what gunicorn serves
