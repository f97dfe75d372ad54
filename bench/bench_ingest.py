"""Ingest throughput against a no-op baseline, in one run, on this machine.

Serves a no-op Flask endpoint and the real ingest endpoint with the same gunicorn
configuration (`make serve`'s: gevent worker, 2 workers), loads each with wrk at 16 and 64
connections on loopback, and prints req/s, p50/p99 and the ratio ingest/no-op, for SQLite
(WAL, synchronous=FULL) and PostgreSQL (fsync on). Ratios, not absolute numbers, are the
result: these machines are noisy.

A third server, the durable no-op (`durable_noop_app`), only appends each body to a file
and fdatasyncs it, group-committed, before answering: its ratio to the no-op is the ceiling
any power-loss-safe ingest can reach on this machine with this configuration.

With --floor, the contract floor (`contract_floor_app`) is served too: the durable no-op
plus only the work the contract cannot skip, done by the product's own functions
(validation, limits, hashes, a group-committed insert into SQLite, the answer) and none of
its Flask app, writer process or routing; twice, committing in the worker (as the durable
no-op fsyncs) and in a native thread beside it. Its ratio to the durable no-op is what the
contract itself costs, and the ingest's ratio to it what the product's machinery costs. A
third run appends the body as the durable no-op does instead of storing it: the contract's
work without SQLite. A fourth serves the product's own application with that append in its
store's place: the ingest's distance to it is what its store costs.

    .venv/bin/python bench/bench_ingest.py [--seconds 10] [--rounds 3] [--floor]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedback_api.config import load_settings  # noqa: E402
from feedback_api.run.serve import gunicorn_args  # noqa: E402
from feedback_api.store import upgrade  # noqa: E402
from tests import services  # noqa: E402
from tideway_site import publish  # noqa: E402

LUA = Path(__file__).with_name("post_feedback.lua")
FLOOR_LABELS = {
    "floor-worker": "worker commits",
    "floor-thread": "thread commits",
    "floor-append": "no SQLite",
    "floor-edge": "product, no store",
}


def published_site(tmp: Path) -> Path:
    repo = tmp / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    publish.publish_all(repo, branch="tideway-site", log=lambda _m: None)
    site = tmp / "site"
    publish.export(repo, "tideway-site", site)
    return site


def server_env(site: Path) -> dict[str, str]:
    """The settings every benchmarked server runs with: the published site, and limits no
    load reaches (the load comes from one address)."""
    return {
        "TIDEWAY_SITE_DIR": str(site),
        "TIDEWAY_SECRET_KEY": "bench-" + "s" * 40,
        "TIDEWAY_RATE_LIMIT_CLIENT": "100000000/minute",
        "TIDEWAY_RATE_LIMIT_PAGE": "100000000/minute",
        "NO_MKDOCS_2_WARNING": "1",
    }


def serve(app: str, env: dict[str, str], port: int, code: Path = ROOT) -> subprocess.Popen:
    args = gunicorn_args(load_settings(port=port))
    args[-1] = app
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *args], cwd=code, env={**os.environ, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    services.wait_for_port(port, proc=proc)
    wait_for_workers(port, proc)
    return proc


def upgrade_in(url: str, code: Path) -> None:
    """The schema of another checkout's migrations, as its own `upgrade` makes it."""
    subprocess.run(
        [sys.executable, "-c", "import sys; from feedback_api.store import upgrade; "
         "upgrade(sys.argv[1])", url],
        cwd=code, env={**os.environ, "PYTHONPATH": str(code)}, check=True,
    )  # fmt: skip


def wait_for_workers(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Until a worker answers: the master listens (and queues connections) before its
    workers, and the writer process before them, have started; a run that began then
    measured seconds of nothing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/feedback", timeout=2)
        except urllib.error.HTTPError:
            return  # any answer (405 for a GET) comes from a worker
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError(f"the server on port {port} did not answer within {timeout:.0f} s")


def wrk(port: int, seconds: int, connections: int = 16, script: Path = LUA) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/api/v1/feedback"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "non2xx": int(re.search(r"non2xx=(\d+)", out).group(1)),
    }


def server_cpu_seconds(proc: subprocess.Popen) -> float:
    """User + system CPU of gunicorn's master and workers so far."""
    tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    return sum(sum(p.cpu_times()[:2]) for p in tree)


def measure(
    name: str,
    app: str,
    env: dict[str, str],
    seconds: int,
    connections: int,
    code: Path = ROOT,
    script: Path = LUA,
) -> dict[str, float]:
    port = services.free_port()
    proc = serve(app, env, port, code)
    try:
        wrk(port, 2, connections, script)  # warm-up: workers started, connections and caches primed
        cpu_before = server_cpu_seconds(proc)
        result = wrk(port, seconds, connections, script)
        cpu = server_cpu_seconds(proc) - cpu_before
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    # CPU per request does not depend on what else the machine runs, unlike req/s.
    result["cpu_us"] = cpu / max(1.0, result["rps"] * seconds) * 1e6
    print(f"{name:<40} {result['rps']:>9.0f} req/s   p50 {result['p50']:6.2f} ms   "
          f"p99 {result['p99']:6.2f} ms   server CPU {result['cpu_us']:6.0f} us/req   "
          f"non-2xx {result['non2xx']}", flush=True)  # fmt: skip
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--connections", default="16,64", help="wrk connections, comma-separated (each a run)"
    )
    parser.add_argument(
        "--stores", default="sqlite,postgres", help="which stores to load: sqlite, postgres"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for the ingest servers only, e.g. TIDEWAY_WRITER_PROCESS=false",
    )  # fmt: skip
    parser.add_argument(
        "--code", type=Path, default=ROOT,
        help="the source tree the servers run (another checkout, to compare a change)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline-code", type=Path, default=None,
        help="another checkout whose ingest is measured too, interleaved in the same rounds "
        "(e.g. main), and compared",
    )  # fmt: skip
    parser.add_argument(
        "--script", type=Path, default=LUA,
        help="the wrk script that makes the requests (default: post_feedback.lua, half of "
        "them unhelpful ratings that open or join a review task)",
    )  # fmt: skip
    parser.add_argument(
        "--floor", action="store_true",
        help="also serve the contract floor (bench/contract_floor_app.py), on a SQLite store "
        "of its own",
    )  # fmt: skip
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian package wrk).", file=sys.stderr)
        return 2
    extra = dict(item.split("=", 1) for item in args.env)
    connection_counts = [int(c) for c in args.connections.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="tideway-bench-"))
    try:
        site = published_site(tmp)
        common = server_env(site)
        sqlite_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        upgrade(sqlite_url)
        noop = {**common, "TIDEWAY_WRITER_PROCESS": "false"}  # it has nothing to commit
        durable = {**noop, "TIDEWAY_BENCH_DURABLE_DIR": str(tmp)}
        floor_url = f"sqlite:///{tmp / 'floor.sqlite3'}"
        if args.floor:
            upgrade(floor_url)
        floors = {
            f"floor-{where}": {
                **durable, "TIDEWAY_DATABASE_URL": floor_url, "TIDEWAY_BENCH_FLOOR_COMMIT": where
            }
            for where in ("worker", "thread", "append", "edge")
        }  # fmt: skip
        stores_run = args.stores.split(",")
        if args.baseline_code:
            stores_run = [s for store in stores_run for s in (store, f"{store}@baseline")]
        kinds = ["noop", "durable", *(floors if args.floor else []), *stores_run]
        runs = {(kind, c): [] for kind in kinds for c in connection_counts}
        with services.postgres_server() as pg:
            pg_url = pg.create_database("bench")
            upgrade(pg_url)
            stores = {"sqlite": ("SQLite", sqlite_url), "postgres": ("PostgreSQL", pg_url)}
            # The baseline's ingest stores into databases of its own: rows that one checkout
            # left unrouted (or stored in another shape) would otherwise load the other's.
            baseline_stores = {}
            if args.baseline_code:
                baseline_sqlite = f"sqlite:///{tmp / 'baseline.sqlite3'}"
                baseline_pg = pg.create_database("bench_baseline")
                for url in (baseline_sqlite, baseline_pg):
                    upgrade_in(url, args.baseline_code)
                baseline_stores = {
                    "sqlite": ("SQLite", baseline_sqlite), "postgres": ("PostgreSQL", baseline_pg)
                }  # fmt: skip
            # Rounds interleave the servers, so that a burst of other work on the machine
            # lands on one sample of each rather than on all of one; medians are compared.
            for n in range(1, args.rounds + 1):
                for c in connection_counts:
                    runs["noop", c].append(measure(
                        f"no-op, {c} conn, round {n}", "bench.noop_app:app", noop,
                        args.seconds, c, args.code, args.script,
                    ))  # fmt: skip
                    runs["durable", c].append(measure(
                        f"durable no-op, {c} conn, round {n}", "bench.durable_noop_app:app",
                        durable, args.seconds, c, args.code, args.script,
                    ))  # fmt: skip
                    for kind, env in floors.items() if args.floor else ():
                        runs[kind, c].append(measure(
                            f"floor, {FLOOR_LABELS[kind]}, {c} conn, round {n}",
                            "bench.contract_floor_app:app", env, args.seconds, c, args.code,
                            args.script,
                        ))  # fmt: skip
                    for store in stores_run:
                        name, _, baseline = store.partition("@")
                        label, url = (baseline_stores if baseline else stores)[name]
                        runs[store, c].append(measure(
                            f"ingest{' (baseline)' if baseline else ''}, {label}, {c} conn, "
                            f"round {n}", "feedback_api.wsgi:application",
                            {**common, "TIDEWAY_DATABASE_URL": url, **extra}, args.seconds, c,
                            args.baseline_code if baseline else args.code, args.script,
                        ))  # fmt: skip
        median = {
            key: {m: statistics.median(r[m] for r in results) for m in results[0]}
            for key, results in runs.items()
        }
        print()
        for c in connection_counts:
            noop_m, durable_m = median["noop", c], median["durable", c]
            ceiling = durable_m["rps"] / noop_m["rps"]
            print(f"{c} connections: durable no-op/no-op {ceiling:.2f} req/s, "
                  f"{noop_m['cpu_us'] / durable_m['cpu_us']:.2f} by server CPU per request; "
                  f"durable no-op p99 {durable_m['p99']:.2f} ms, "
                  f"server CPU {durable_m['cpu_us']:.0f} us/req")  # fmt: skip
            for kind in floors if args.floor else ():
                rps, p99, cpu = (median[kind, c][m] for m in ("rps", "p99", "cpu_us"))
                print(f"  contract floor, {FLOOR_LABELS[kind]:<14}: {rps / durable_m['rps']:.2f} "
                      f"of the durable no-op, {rps / noop_m['rps']:.2f} of the no-op; p99 "
                      f"{p99:.2f} ms = {p99 / durable_m['p99']:.2f} x the durable no-op's; "
                      f"server CPU {cpu:.0f} us/req")  # fmt: skip
            # The better of the two that store the row is the floor the ingest is held to.
            measured = [median[k, c] for k in ("floor-worker", "floor-thread") if args.floor]
            floor_m = max(measured, key=lambda m: m["rps"], default=None)
            for store in stores_run:
                target = {"sqlite": 0.8, "postgres": 0.7}[store.partition("@")[0]]
                m = median[store, c]
                ratio = m["rps"] / durable_m["rps"]
                print(f"  ingest, {store:<9}: {ratio:.2f} of the durable no-op "
                      f"(target >= {target}), {m['rps'] / noop_m['rps']:.2f} of the no-op; "
                      f"p99 {m['p99']:.2f} ms = {m['p99'] / durable_m['p99']:.2f} x the "
                      f"durable no-op's (target <= 1.5); "
                      f"server CPU {m['cpu_us']:.0f} us/req")  # fmt: skip
                if floor_m:
                    print(f"    ingest / the better floor: {m['rps'] / floor_m['rps']:.2f} req/s, "
                          f"{m['cpu_us'] / floor_m['cpu_us']:.2f} server CPU per request, "
                          f"{m['p99'] / floor_m['p99']:.2f} p99")  # fmt: skip
                    edge = median["floor-edge", c]
                    print(f"    ingest / the product without its store: "
                          f"{m['rps'] / edge['rps']:.2f} req/s, the store's CPU "
                          f"{m['cpu_us'] - edge['cpu_us']:.0f} us/req")  # fmt: skip
                if store.endswith("@baseline"):
                    new = median[store.partition("@")[0], c]
                    print(f"    this code / baseline: {new['rps'] / m['rps']:.2f} req/s, "
                          f"{new['cpu_us'] / m['cpu_us']:.2f} server CPU per request, "
                          f"{new['p99'] / m['p99']:.2f} p99")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
