"""Microseconds of each part of the ingest contract, one call at a time (`timeit` style).

Times the product's own functions as the contract floor (`contract_floor_app`) calls them,
on the payload `post_feedback.lua` sends: validation, the two rate-limit checks on
`machine://` counters, the client's keyed hash, the stored row (request hash, amend token
and its hash), the published site's check, the answer, and a one-row insert into a migrated
SQLite store without an fsync (`synchronous=OFF`), bare `sqlite3` and through the product's
commit path, then with one (`FULL`). Best of the repeats, and their median, per call.

Last, whole requests in process (the WSGI app called with a ready environ, no server): the
durable no-op and the contract floor's `append` variant, both appending to /dev/shm, where a
sync costs next to nothing; their difference is the contract's work with its Flask glue.

    .venv/bin/python bench/bench_parts.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from bench.bench_review import VERSIONS, pages_of_site, write_site  # noqa: E402
from feedback_api.config import load_settings, resolve_secret  # noqa: E402
from feedback_api.http.body import client_hash  # noqa: E402
from feedback_api.http.limits import IngestLimits, MachineCounters  # noqa: E402
from feedback_api.ingest.catalog import SiteCatalog  # noqa: E402
from feedback_api.ingest.endpoints import answer  # noqa: E402
from feedback_api.ingest.schemas import FeedbackIn  # noqa: E402
from feedback_api.ingest.submit import (  # noqa: E402
    public_view,
    reason_sets,
    resolve_page,
    submission_row,
)
from feedback_api.store import make_engine, upgrade  # noqa: E402
from feedback_api.store.models import Feedback  # noqa: E402
from feedback_api.store.writer import GroupCommitter  # noqa: E402

# The limits bench_ingest gives its servers: one window each, never reached.
LIMIT = "100000000/minute"


def per_call_us(call, repeat: int) -> tuple[float, float]:
    timer = timeit.Timer(call)
    number, _ = timer.autorange()  # enough calls for 0.2 s, as python -m timeit
    runs = [t / number * 1e6 for t in timer.repeat(repeat, number)]
    return min(runs), statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tideway-parts-"))
    write_site(tmp / "site")
    settings = load_settings(site_dir=tmp / "site", secret_key="bench-" + "s" * 40)
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["SECRET"] = resolve_secret(settings)
    app.extensions["catalog"] = SiteCatalog(site_dir=settings.site_dir)
    limits = IngestLimits(MachineCounters(tmp / "limits"), LIMIT, LIMIT)
    page, version = pages_of_site()[0], VERSIONS[0]
    keys = (f"bench{n:016d}" for n in itertools.count())
    payload = {"page": page, "version": version, "rating": 0, "idempotency_key": next(keys)}
    rich = {
        **payload,
        "reasons": [settings.reasons_not_helpful[0]],
        "comment": "The second step fails with a permission error on a fresh install.",
        "locale": "en-GB",
    }
    url = f"sqlite:///{tmp / 'parts.sqlite3'}"
    upgrade(url)

    with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        reasons = reason_sets(app)
        data = FeedbackIn.model_validate(payload, context={"reasons": reasons})
        client = client_hash()
        row, token = submission_row(app, data, version, client)
        row["id"], row["task_id"] = 1, None
        parts = [
            ("validation (FeedbackIn, the benchmark's payload)",
             lambda: FeedbackIn.model_validate(payload, context={"reasons": reasons})),
            ("validation, with a reason, a comment and a locale",
             lambda: FeedbackIn.model_validate(rich, context={"reasons": reasons})),
            ("rate limits: client and page (machine://)",
             lambda: (limits.check_client(client), limits.check_page(version, page))),
            ("client hash (keyed, daily)", client_hash),
            ("stored row: request hash, amend token and its hash",
             lambda: submission_row(app, data, version, client)),
            ("published site: version and page", lambda: resolve_page(app, data)),
            ("answer: FeedbackOut to JSON bytes",
             lambda: public_view(row, token).model_dump_json()),
            ("answer: the same, as a Flask response",
             lambda: answer(public_view(row, token), 201)),
        ]  # fmt: skip

        bare = sqlite3.connect(tmp / "parts.sqlite3", isolation_level=None)
        bare.execute("PRAGMA journal_mode=WAL")
        bare.execute("PRAGMA synchronous=OFF")
        columns = [name for name in row if name not in ("id", "task_id")]
        stored = dict(row)
        stored["reasons"] = "[]"
        stored["created_at"] = row["created_at"].strftime("%Y-%m-%d %H:%M:%S.%f")
        insert = (
            f"INSERT INTO feedback ({', '.join(columns)}) VALUES "
            f"({', '.join('?' * len(columns))}) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
        )

        def bare_insert() -> None:
            bare.execute("BEGIN IMMEDIATE")
            values = [stored[c] for c in columns]
            values[columns.index("idempotency_key")] = next(keys)
            bare.execute(insert, values).fetchall()
            bare.execute("COMMIT")

        committer = GroupCommitter(make_engine(url), Feedback.__table__)
        committer.hold_connection()  # as the writer process and the floor hold it
        product_row = {name: value for name, value in row.items() if name in columns}

        def product_insert() -> None:
            committer.commit_rows([{**product_row, "idempotency_key": next(keys)}])

        def synchronous(mode: str):
            def set_mode() -> None:
                bare.execute(f"PRAGMA synchronous={mode}")
                committer.held_connection().exec_driver_sql(f"PRAGMA synchronous={mode}")
                committer.held_connection().commit()

            return set_mode

        stores = [
            ("one-row insert and commit, no fsync: bare sqlite3", synchronous("OFF"), bare_insert),
            ("the same through GroupCommitter.commit_rows", None, product_insert),
            ("one-row insert and commit, fsync (FULL): bare sqlite3", synchronous("FULL"),
             bare_insert),
            ("the same through GroupCommitter.commit_rows", None, product_insert),
        ]  # fmt: skip

        print(f"{'part':56} {'best us':>8} {'median':>8}")
        for label, call in parts:
            best, median = per_call_us(call, args.repeat)
            print(f"{label:56} {best:8.1f} {median:8.1f}", flush=True)
        for label, setup, call in stores:
            if setup:
                setup()
            best, median = per_call_us(call, args.repeat)
            print(f"{label:56} {best:8.1f} {median:8.1f}", flush=True)
    for label, call in whole_requests(tmp, url, payload):
        best, median = per_call_us(call, args.repeat)
        print(f"{label:56} {best:8.1f} {median:8.1f}", flush=True)
    return 0


def whole_requests(tmp: Path, url: str, payload: dict) -> list:
    shm = Path(tempfile.mkdtemp(prefix="tideway-parts-", dir="/dev/shm"))
    os.environ.update({
        "TIDEWAY_DATABASE_URL": url, "TIDEWAY_SITE_DIR": str(tmp / "site"),
        "TIDEWAY_SECRET_KEY": "bench-" + "s" * 40, "TIDEWAY_RATE_LIMIT_CLIENT": LIMIT,
        "TIDEWAY_RATE_LIMIT_PAGE": LIMIT, "TIDEWAY_BENCH_DURABLE_DIR": str(shm),
        "TIDEWAY_BENCH_FLOOR_COMMIT": "append",
    })  # fmt: skip
    # Read by the two apps when they are imported.
    from bench import contract_floor_app, durable_noop_app

    body = json.dumps(payload).encode()
    environ = EnvironBuilder(
        "/api/v1/feedback", method="POST", data=body, content_type="application/json",
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    ).get_environ()  # fmt: skip

    def request(app):
        def call() -> None:
            status = []
            env = {**environ, "wsgi.input": io.BytesIO(body)}
            b"".join(app(env, lambda s, h, exc_info=None: status.append(s)))
            assert status[0].startswith("201"), status

        return call

    return [
        ("a whole request in process: durable no-op (tmpfs)", request(durable_noop_app.app)),
        ("the same: contract floor, no SQLite (tmpfs)", request(contract_floor_app.app)),
    ]


if __name__ == "__main__":
    sys.exit(main())
