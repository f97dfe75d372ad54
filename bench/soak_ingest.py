"""A steady load on the feedback endpoint for minutes: memory of every server process, and
latency and errors, at a rate a real site might see (500 submissions a second by default).

Serves the ingest endpoint as `make serve` does (gunicorn, its writer process), sends a
paced stream of submissions with wrk (`paced_feedback.lua`), samples the resident memory
of the master, the workers, the writer and its supervisor every few seconds, and prints
each process's RSS after the warm-up and at the end. Memory is flat when it stops growing
once warm; a leak shows as growth that goes on through the run.

    .venv/bin/python bench/soak_ingest.py [--seconds 300] [--rate 500] [--postgres]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_ingest import published_site, serve  # noqa: E402
from feedback_api.store import upgrade  # noqa: E402
from tests import services  # noqa: E402

LUA = Path(__file__).with_name("paced_feedback.lua")
WARM_UP = 15  # seconds of load before the first sample: caches filled, pools opened
CALIBRATE = 5  # seconds at the pace worked out from the warm-up, to correct it
SAMPLE_EVERY = 5


def role(proc: psutil.Process, master: int) -> str:
    command = " ".join(proc.cmdline())
    if proc.pid == master:
        return "master"
    if "writer_loop" in command:
        return "writer" if "--no-supervise" in command else "writer supervisor"
    return "worker"


def rss_by_process(master: psutil.Process) -> dict[tuple[int, str], int]:
    found = {}
    for proc in [master, *master.children(recursive=True)]:
        try:
            found[proc.pid, role(proc, master.pid)] = proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return found


def wrk_command(port: int, connections: int, seconds: int, pause_ms: float) -> list[str]:
    return ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA),
            f"http://127.0.0.1:{port}/api/v1/feedback", "--", f"{pause_ms:.1f}"]  # fmt: skip


def wrk_paced(port: int, connections: int, seconds: int, pause_ms: float) -> dict[str, float]:
    out = subprocess.run(
        wrk_command(port, connections, seconds, pause_ms), capture_output=True, text=True
    ).stdout
    value, unit = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out).groups()
    return {
        "avg_ms": float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit],
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
    }


def soak(url: str, site: Path, seconds: int, rate: int, connections: int) -> int:
    port = services.free_port()
    env = {
        "TIDEWAY_SITE_DIR": str(site),
        "TIDEWAY_SECRET_KEY": "soak-" + "s" * 40,
        "TIDEWAY_RATE_LIMIT_CLIENT": "100000000/minute",
        "TIDEWAY_RATE_LIMIT_PAGE": "100000000/minute",
        "TIDEWAY_DATABASE_URL": url,
        "NO_MKDOCS_2_WARNING": "1",
    }
    proc = serve("feedback_api.wsgi:application", env, port)
    try:
        master = psutil.Process(proc.pid)
        # The warm-up also measures the latency: each connection then waits what is left
        # of its share of a second (wrk answers a request before it sends the next).
        share = 1000 * connections / rate
        warm = wrk_paced(port, connections, WARM_UP, share)
        pause = max(0.0, share - warm["avg_ms"])
        # Then once more at that pace, correcting by the rate it reached.
        tried = wrk_paced(port, connections, CALIBRATE, pause)
        pause = max(0.0, pause + share - 1000 * connections / tried["rps"])
        load = subprocess.Popen(
            wrk_command(port, connections, seconds, pause), stdout=subprocess.PIPE, text=True
        )
        first = rss_by_process(master)
        samples = [first]
        while load.poll() is None:
            time.sleep(SAMPLE_EVERY)
            samples.append(rss_by_process(master))
        out = load.stdout.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    last = samples[-2] if len(samples) > 1 else samples[-1]  # the last one taken under load
    print(f"{'process':<28} {'RSS warm (MiB)':>15} {'RSS end (MiB)':>14} {'max (MiB)':>10}")
    for key, start in sorted(first.items(), key=lambda item: item[0][1]):
        end = last.get(key)
        peak = max(s.get(key, 0) for s in samples)
        end_text = f"{end / 2**20:14.1f}" if end is not None else f"{'(gone)':>14}"
        print(f"{key[1] + ' ' + str(key[0]):<28} {start / 2**20:15.1f} {end_text} "
              f"{peak / 2**20:10.1f}")  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p99 = (re.search(rf"^\s+{q}%\s+(\S+)", out, re.M).group(1) for q in (50, 99))
    non2xx = int(re.search(r"non2xx=(\d+)", out).group(1))
    found = re.search(r"Socket errors: (.*)", out)
    errors = found.group(1) if found else "none"
    warm = WARM_UP + CALIBRATE
    print(f"\n{rps:.0f} req/s (asked {rate}) for {seconds} s after {warm} s of warm-up, "
          f"p50 {p50}, p99 {p99}, non-2xx {non2xx}, socket errors: {errors}")  # fmt: skip
    return 0 if non2xx == 0 and errors == "none" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--rate", type=int, default=500, help="submissions per second")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian package wrk).", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="tideway-soak-"))
    try:
        site = published_site(tmp)
        if args.postgres:
            with services.postgres_server() as pg:
                url = pg.create_database("soak")
                upgrade(url)
                return soak(url, site, args.seconds, args.rate, args.connections)
        url = f"sqlite:///{tmp / 'soak.sqlite3'}"
        upgrade(url)
        return soak(url, site, args.seconds, args.rate, args.connections)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
