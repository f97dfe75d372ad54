"""The machine-wide counters' table (feedback_api/http/shared_counters.py): exact under
processes and threads hitting it at once, windows that end, a full table that never resets a
live counter, and a file nobody else can read or plant."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from feedback_api.http.limits import Limit, MachineCounters, MachineStorage, Refused
from feedback_api.http.shared_counters import (
    OVERFLOW,
    CounterFileError,
    SharedCounters,
    key_hash,
)


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _hit_many(path: str, key: str, limit: int, tries: int, out) -> None:
    table = SharedCounters.open(path)
    out.put(sum(table.hit([(key, 60, limit)]) is None for _ in range(tries)))


def test_processes_hitting_at_once_get_exactly_the_limit(tmp_path):
    path = str(tmp_path / "counters")
    table = SharedCounters.open(path)  # opened before the fork too: children inherit it
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hit_many, args=(path, "k", 700, 400, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    # And threads of this process at the same time.
    allowed = []
    threads = [
        threading.Thread(
            target=lambda: allowed.append(
                sum(table.hit([("k", 60, 700)]) is None for _ in range(200))
            )
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    total = sum(out.get(timeout=5) for _ in procs) + sum(allowed)
    assert total == 700  # of 2,000 tries
    assert table.get("k")[0] == 700


def _incr_many(path: str, n: int) -> None:
    table = SharedCounters.open(path)
    for _ in range(n):
        table.incr("sum", 60)


def test_increments_from_several_processes_are_none_lost(tmp_path):
    path = str(tmp_path / "counters")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_incr_many, args=(path, 1000)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=30)
    assert SharedCounters.open(path).get("sum")[0] == 4000


def test_a_window_ends_and_counting_starts_again(tmp_path):
    clock = Clock()
    table = SharedCounters(str(tmp_path / "counters"), 64, clock=clock)
    assert [table.hit([("k", 60, 2)]) for _ in range(2)] == [None, None]
    clock.now += 15
    assert table.hit([("k", 60, 2)]) == (0, 45)
    clock.now += 45  # the window began at the first hit and ends 60 s after it
    assert table.hit([("k", 60, 2)]) is None
    assert table.get("k") == (1, clock.now + 60)


def test_a_refused_hit_counts_in_no_window(tmp_path):
    table = SharedCounters(str(tmp_path / "counters"), 64, clock=Clock())
    table.hit([("minute", 60, 5), ("hour", 3600, 1)])
    # The hour is full: the minute's window is not charged for the refusal.
    assert table.hit([("minute", 60, 5), ("hour", 3600, 1)])[0] == 1
    assert table.get("minute")[0] == 1
    # A refund takes one back, and never starts a window of its own.
    table.incr("minute", 60, -1)
    table.incr("never-hit", 60, -1)
    assert table.get("minute")[0] == 0 and table.get("never-hit")[0] == 0


def _keys_in_one_bucket(buckets: int, count: int) -> list[str]:
    keys, n = [], 0
    while len(keys) < count:
        key = f"client-{n}"
        if key_hash(key) % buckets == 0:
            keys.append(key)
        n += 1
    return keys


def test_a_full_table_never_resets_a_live_counter(tmp_path):
    clock = Clock()
    table = SharedCounters(str(tmp_path / "counters"), 4, clock=clock)
    keys = _keys_in_one_bucket(4, 40)
    victim, others, flood = keys[0], keys[1:OVERFLOW], keys[OVERFLOW:]
    for _ in range(3):
        table.hit([(victim, 60, 3)])
    for key in others:
        table.hit([(key, 60, 3)])
    # The bucket's slots are all live: thirty-three new keys find none free...
    refused = [table.hit([(key, 60, 3)]) for key in flood]
    # ...and share the overflow counter, so the flood is limited as one client, not reset:
    assert refused[:3] == [None, None, None] and all(r is not None for r in refused[3:])
    assert table.hit([(victim, 60, 3)]) is not None  # still at its limit
    # When the windows end, the slots are free again for whoever comes.
    clock.now += 61
    assert all(table.hit([(key, 60, 3)]) is None for key in flood[:OVERFLOW])


def test_the_file_is_private_and_ours(tmp_path):
    path = tmp_path / "var" / "counters"
    SharedCounters.open(path)
    assert path.stat().st_mode & 0o777 == 0o600
    shared = tmp_path / "shared"
    shared.write_bytes(b"")
    shared.chmod(0o666)
    with pytest.raises(CounterFileError, match="others may read or write it"):
        SharedCounters.open(shared)
    planted = tmp_path / "planted"
    planted.write_bytes(b"not a table" * 10)
    planted.chmod(0o600)
    with pytest.raises(CounterFileError, match="is not a rate-limit counters' file"):
        SharedCounters.open(planted)
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(CounterFileError, match="Cannot open"):
        SharedCounters.open(link)


def test_the_size_of_an_existing_table_is_kept(tmp_path):
    path = str(tmp_path / "counters")
    first = SharedCounters(path, 64)
    first.incr("k", 60)
    again = SharedCounters(path, 1024)  # another process, configured differently
    assert again.buckets == 64 and again.get("k")[0] == 1
    assert os.path.getsize(path) == first._mm.size()


def test_limits_and_flask_limiter_storage_read_the_same_counters(tmp_path):
    path = tmp_path / "counters"
    counters = MachineCounters(path)
    limit = Limit("2/minute")
    counters.hit(limit, "ingest/client/abc")
    storage = MachineStorage("machine://", path=str(path))
    assert storage.get("ingest/client/abc/2/1/minute") == 1
    counters.hit(limit, "ingest/client/abc")
    with pytest.raises(Refused) as refused:
        counters.hit(limit, "ingest/client/abc")
    assert refused.value.window == "2 per 1 minute" and 0 < refused.value.retry_after <= 61
    storage.reset()
    counters.hit(limit, "ingest/client/abc")
