"""Where the store's CPU goes under load: py-spy samples the writer process and one worker.

Serves the product's ingest as `bench_ingest.py` does (gunicorn, gevent, 2 workers, the
writer process), loads it with wrk, and samples the writer process and one worker with
py-spy (a dev tool: `pip install py-spy`; it is not a dependency of the product) while the
load runs. Each sample's stack is given to the first part, from the innermost frame out,
whose marker it holds; the part's share of the process's samples times the process's CPU
seconds, over the rows stored, is its CPU per row.

    .venv/bin/python bench/profile_store.py [--store sqlite|postgres] [--seconds 15]
        [--connections 16] [--code DIR]
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ingest import LUA, published_site, serve, server_env, wrk  # noqa: E402
from feedback_api.store import upgrade  # noqa: E402
from tests import services  # noqa: E402

# (part, markers): a frame "function (path:line)" matches a marker it contains. Looked for
# from the innermost frame out, parts in this order at each frame.
RATE = 500  # samples a second
WRITER_PARTS = [
    ("answer frame encode", ["_frame (feedback_api/store/writer_process.py", "_encode_reply"]),
    (
        "frame decode",
        [
            "_decode_row",
            "loads (json",
            "decode (json",
            "raw_decode (json",
            "_decode_frame",
            "fromisoformat",
        ],
    ),
    ("rollups.record", ["record (feedback_api/review/rollups.py"]),
    ("page_readers", ["page_readers.py"]),
    (
        "triage (categorise, priority, facts)",
        ["review/core/", "page_facts", "team_of", "_triage (", "catalog.py"],
    ),
    (
        "task update (open task, count, move, log, ack)",
        ["_attach_group", "_add_feedback", "_join", "log_event", "notify.py"],
    ),
    ("claim", ["claim (feedback_api/store/writer.py"]),
    ("route (rest)", ["_route_in", "route_unrouted", "attach_rows", "_route ("]),
    ("insert params", ["_insert_sql", "_encode_params", "_params"]),
    ("insert+commit SQL", ["commit_rows"]),
    ("checkpoint thread", ["checkpoint"]),
    (
        "socket send/recv/accept",
        [
            "_read (feedback_api/store/writer_process.py",
            "_commit (feedback_api/store/writer_process.py",
            "_accept",
            "_forget",
        ],
    ),
    ("select loop", ["select (selectors.py", "serve_forever", "_idle_wait", "_route (feedback"]),
]
WORKER_PARTS = [
    (
        "hand-off: frame encode",
        ["_frame (feedback_api/store/writer_process.py", "_encode_row", "_encode_frame"],
    ),
    ("hand-off: answer decode", ["_read_frame", "_decode_reply"]),
    (
        "hand-off: rest (send, wait, pool)",
        ["insert (feedback_api/store/writer_process.py", "_connection"],
    ),
    ("contract (validation, limits, hashes, answer)", ["submit_feedback", "ingest/"]),
    ("gevent/gunicorn/wsgi", ["gevent", "gunicorn", "wsgi"]),
]


def parts_of(collapsed: Path, parts: list[tuple[str, list[str]]]) -> tuple[dict, int]:
    counts: collections.Counter = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        n = int(n)
        total += n
        frames = stack.split(";")
        counts[_part(frames, parts)] += n
    return counts, total


def _part(frames: list[str], parts) -> str:
    for frame in reversed(frames):
        for name, markers in parts:
            if any(m in frame for m in markers):
                return name
    return "other"


def top_functions(collapsed: Path, n: int = 25) -> list[tuple[str, int]]:
    inclusive: collections.Counter = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        for frame in set(f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0]
                         for f in stack.split(";")):  # fmt: skip
            inclusive[frame] += int(count)
    return inclusive.most_common(n)


def cpu(proc: psutil.Process) -> tuple[float, float]:
    """User and system CPU seconds so far."""
    times = proc.cpu_times()
    return times.user, times.system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--keep", type=Path, default=None, help="copy the py-spy output here")
    parser.add_argument(
        "--tool", choices=["py-spy", "strace", "perf", "none"], default="py-spy",
        help="none: only the CPU per row of the writer and a worker; strace: count the "
        "writer's system calls (slows it: counts, not times); perf: "
        "where its native CPU goes (SQLite's C code, the kernel)",
    )  # fmt: skip
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    tmp = Path(tempfile.mkdtemp(prefix="tideway-profile-"))
    try:
        env = server_env(published_site(tmp))
        with services.postgres_server() as pg:
            url = (
                pg.create_database("profile")
                if args.store == "postgres"
                else f"sqlite:///{tmp / 'profile.sqlite3'}"
            )
            upgrade(url)
            port = services.free_port()
            proc = serve("feedback_api.wsgi:application", {**env, "TIDEWAY_DATABASE_URL": url},
                         port, args.code)  # fmt: skip
            try:
                wrk(port, 2, args.connections)  # warm-up
                time.sleep(0.5)  # the routing of the warm-up's rows
                tree = psutil.Process(proc.pid).children(recursive=True)
                writer = next(p for p in tree if "--no-supervise" in p.cmdline())
                worker = next(p for p in psutil.Process(proc.pid).children()
                              if "gunicorn" in " ".join(p.cmdline()))  # fmt: skip
                engine = create_engine(url)
                with engine.connect() as conn:
                    before = conn.execute(text("select count(*) from feedback")).scalar_one()
                spies = {}
                if args.tool == "py-spy":
                    spies = {
                        name: subprocess.Popen(
                            [
                                spy,
                                "record",
                                "--pid",
                                str(p.pid),
                                "--format",
                                "raw",
                                "--rate",
                                str(RATE),
                                "--duration",
                                str(args.seconds),
                                "--output",
                                str(tmp / f"{name}.txt"),
                                "--nonblocking",
                                "--gil",
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )  # fmt: skip
                        for name, p in (("writer", writer), ("worker", worker))
                    }
                elif args.tool == "strace":
                    spies["strace"] = subprocess.Popen(
                        ["timeout", "-s", "INT", str(args.seconds), "strace", "-c", "-f", "-p",
                         str(writer.pid), "-o", str(tmp / "strace.txt")],
                    )  # fmt: skip
                else:
                    spies["perf"] = subprocess.Popen(
                        ["perf", "record", "-q", "-g", "-p", str(writer.pid), "-o",
                         str(tmp / "perf.data"), "--", "sleep", str(args.seconds)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                cpu_before = {"writer": cpu(writer), "worker": cpu(worker)}
                started = time.monotonic()
                result = wrk(port, args.seconds, args.connections, LUA)
                elapsed = time.monotonic() - started
                for s in spies.values():
                    s.wait(timeout=120)
                time.sleep(0.6)  # the last routing batch
                split = {name: [a - b for a, b in zip(cpu(p), cpu_before[name], strict=True)]
                         for name, p in (("writer", writer), ("worker", worker))}  # fmt: skip
                cpu_used = {name: sum(times) for name, times in split.items()}
                with engine.connect() as conn:
                    after = conn.execute(text("select count(*) from feedback")).scalar_one()
                    unrouted = conn.execute(
                        text("select count(*) from feedback where not routed")
                    ).scalar_one()
                engine.dispose()
            finally:
                proc.terminate()
                proc.wait(timeout=15)
        rows = after - before
        print(f"{args.store}, {args.connections} connections, {elapsed:.1f} s: "
              f"{result['rps']:.0f} req/s, p99 {result['p99']:.1f} ms, {rows} rows stored "
              f"({unrouted} unrouted at the end)")  # fmt: skip
        if args.tool == "none":
            for name, (user, system) in split.items():
                per = rows if name == "writer" else rows / 2
                print(f"{name}: {(user + system) / per * 1e6:.1f} us CPU per row (user "
                      f"{user / per * 1e6:.1f}, system {system / per * 1e6:.1f})")  # fmt: skip
            return 0
        if args.tool == "strace":
            print((tmp / "strace.txt").read_text())
            print(f"rows: {rows}")
            return 0
        if args.tool == "perf":
            report = subprocess.run(
                ["perf", "report", "-i", str(tmp / "perf.data"), "--no-children", "--sort",
                 "dso", "--stdio", "-g", "none"],
                capture_output=True, text=True,
            ).stdout  # fmt: skip
            print(report)
            symbols = subprocess.run(
                ["perf", "report", "-i", str(tmp / "perf.data"), "--no-children", "--sort",
                 "dso,symbol", "--stdio", "-g", "none"],
                capture_output=True, text=True,
            ).stdout  # fmt: skip
            print("\n".join(symbols.splitlines()[:60]))
            return 0
        for name, parts in (("writer", WRITER_PARTS), ("worker", WORKER_PARTS)):
            counts, total = parts_of(tmp / f"{name}.txt", parts)
            # Only the thread holding the interpreter lock is sampled (--gil): Python's own
            # CPU. What the process spends with it released (SQLite's C code, the kernel's
            # system calls) is the rest of its CPU.
            python_s = total / RATE
            # The worker serves about half of the rows (2 workers).
            per = rows if name == "writer" else rows / 2
            us_per_sample = 1 / RATE / per * 1e6
            print(f"\n{name}: {cpu_used[name]:.2f} s CPU, {cpu_used[name] / per * 1e6:.1f} us "
                  f"per row; Python (lock held, {total} samples) {python_s / per * 1e6:.1f}, "
                  f"lock released (SQLite, system calls) "
                  f"{(cpu_used[name] - python_s) / per * 1e6:.1f}; user "
                  f"{split[name][0] / per * 1e6:.1f}, system (kernel) "
                  f"{split[name][1] / per * 1e6:.1f}")  # fmt: skip
            for part, n in counts.most_common():
                print(f"  {part:<48} {100 * n / total:5.1f} %  {n * us_per_sample:7.1f} us/row")
            print("  top functions, inclusive:")
            for func, n in top_functions(tmp / f"{name}.txt"):
                print(f"    {100 * n / total:5.1f} %  {func}")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("writer", "worker"):
                shutil.copy(tmp / f"{name}.txt", args.keep / f"{args.store}-{name}.txt")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
