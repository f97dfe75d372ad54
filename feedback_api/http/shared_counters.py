"""Fixed-window counters shared by every process of one machine, with no extra service.

The counters are a fixed-size hash table in a file (mode 0600) that each process maps into
memory, so gunicorn's workers, and any server started again on the same store, count
together. A hit costs a hash, two `fcntl` calls and a few bytes read and written: a few
microseconds, where a SQLite transaction would cost a hundred times that.

Layout: a 64-byte header, then buckets of `WAYS` slots; a key (its 64-bit BLAKE2b hash) lives
in bucket `hash % buckets`. Each bucket holds `WAYS` hashes, then `WAYS` window ends (epoch
seconds), then `WAYS` counts, so that one `unpack_from` reads a whole column. The table is
guarded by an `fcntl` lock (other processes) and a `threading.Lock` (threads of this process,
which `fcntl` does not tell apart), taken once for all the windows of a request: a lock per
bucket would cost the same two system calls for each window, and the lock is held for
microseconds.

When a bucket is full: a slot whose window has ended is free again, but a live slot is never
evicted, since evicting would let whoever fills a bucket with keys of their own reset another
client's counter. A key that finds no free slot is counted in the bucket's last slot, the
overflow, which every such key shares until its window ends: keys that do not fit are limited
together, more strictly, never more loosely. With the default size (65,536 buckets of 7
keys), that takes about 450,000 keys live at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

WAYS = 8  # slots per bucket; the last one is the bucket's overflow counter
OVERFLOW = WAYS - 1
DEFAULT_BUCKETS = 1 << 16  # 12 MiB of file, sparse: only the pages touched take memory
MAGIC = b"TWLIMIT1"
HEADER = struct.Struct("<8sQ")  # magic, buckets
HEADER_BYTES = 64
_HASHES = struct.Struct(f"<{WAYS}Q")
_ENDS = struct.Struct(f"<{WAYS}d")
_SLOT_HASH = struct.Struct("<Q")
_SLOT_END = struct.Struct("<d")
_SLOT_COUNT = struct.Struct("<q")
_ENDS_AT = _HASHES.size
_COUNTS_AT = _HASHES.size + _ENDS.size
BUCKET_BYTES = _HASHES.size + _ENDS.size + WAYS * _SLOT_COUNT.size


class CounterFileError(OSError):
    """The counters' file cannot be used safely; the message names it and says why."""


def key_hash(key: str) -> int:
    # Stable across processes (Python's hash() is salted per process).
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


class SharedCounters:
    """The table in one file; `SharedCounters.open(path)` gives each process one per file."""

    _open_tables: weakref.WeakValueDictionary[str, SharedCounters] = weakref.WeakValueDictionary()
    _registry_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | str, buckets: int = DEFAULT_BUCKETS) -> SharedCounters:
        """The table of `path`, created with `buckets` buckets if the file does not exist.

        One instance per file and process: closing any descriptor of a file drops every
        `fcntl` lock this process holds on it, so a second descriptor would break the first's.
        """
        real = os.path.abspath(path)  # not realpath: a planted symlink must not be followed
        with cls._registry_lock:
            table = cls._open_tables.get(real)
            if table is None:
                table = cls(real, buckets)
                cls._open_tables[real] = table
            return table

    def __init__(self, path: str, buckets: int, clock: Callable[[], float] = time.time):
        self.path = path
        # Wall-clock time, not monotonic: the file outlives a reboot, which restarts the
        # monotonic clock and would leave windows ending far in its future.
        self.clock = clock
        self._lock = threading.Lock()
        self._located: dict[str, tuple[int, int]] = {}
        self._fd = _open_private(Path(path))
        try:
            self.buckets = _initialise(self._fd, path, buckets)
            self._mm = mmap.mmap(self._fd, HEADER_BYTES + self.buckets * BUCKET_BYTES)
        except BaseException:
            os.close(self._fd)
            raise
        weakref.finalize(self, _close, self._mm, self._fd)

    def hit(self, windows: Sequence[tuple[str, float, int]]) -> tuple[int, float] | None:
        """One hit in each window `(key, seconds, limit)`, a window of `seconds` starting at
        a key's first hit. None when every window had room (each counted); else the index of
        the first full window and the seconds until it ends, and no window is counted."""
        located = [(*self._locate(key), seconds, limit) for key, seconds, limit in windows]
        mm = self._mm
        with self._lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX, 0, HEADER_BYTES)
            try:
                now = self.clock()
                counted = []
                for index, (h, at, seconds, limit) in enumerate(located):
                    slot, live = _find(mm, at, h, now)
                    if live:
                        count = _SLOT_COUNT.unpack_from(mm, at + _COUNTS_AT + 8 * slot)[0]
                        if count >= limit:
                            for at_, slot_ in counted:  # refused: take back what was counted
                                _count(mm, at_, slot_, 0, 0.0, -1, True)
                            end = _SLOT_END.unpack_from(mm, at + _ENDS_AT + 8 * slot)[0]
                            return index, end - now
                    _count(mm, at, slot, h, now + seconds, 1, live)
                    counted.append((at, slot))
                return None
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 0, HEADER_BYTES)

    def incr(self, key: str, expiry: float, amount: int = 1) -> tuple[int, float]:
        """Add `amount` to `key`'s window (a new one of `expiry` seconds if it has none live);
        the count after it and when the window ends. A negative amount (a refund) never
        starts a window."""
        h, at = self._locate(key)
        with self._locked():
            now = self.clock()
            slot, live = _find(self._mm, at, h, now)
            if not live and amount < 0:
                return 0, now
            return _count(self._mm, at, slot, h, now + expiry, amount, live)

    def get(self, key: str) -> tuple[int, float]:
        """`key`'s count and window end; (0, now) when it has no live window."""
        h, at = self._locate(key)
        with self._locked():
            now = self.clock()
            slot, live = _find(self._mm, at, h, now)
            if not live:
                return 0, now
            return (
                _SLOT_COUNT.unpack_from(self._mm, at + _COUNTS_AT + 8 * slot)[0],
                _SLOT_END.unpack_from(self._mm, at + _ENDS_AT + 8 * slot)[0],
            )

    def clear(self, key: str) -> None:
        """End `key`'s window (not the overflow's, which other keys share)."""
        h, at = self._locate(key)
        with self._locked():
            slot, live = _find(self._mm, at, h, self.clock())
            if live and slot != OVERFLOW:
                _SLOT_END.pack_into(self._mm, at + _ENDS_AT + 8 * slot, 0.0)

    def reset(self) -> None:
        """End every window."""
        with self._locked():
            self._mm[HEADER_BYTES:] = bytes(len(self._mm) - HEADER_BYTES)

    def _locate(self, key: str) -> tuple[int, int]:
        """`key`'s hash and its bucket's offset; remembered, since the same keys (a page, a
        client's few windows) come again and again and hashing is a third of a hit's cost."""
        located = self._located.get(key)
        if located is None:
            if len(self._located) >= 50_000:
                self._located.clear()
            h = key_hash(key)
            located = self._located[key] = (h, HEADER_BYTES + (h % self.buckets) * BUCKET_BYTES)
        return located

    @contextlib.contextmanager
    def _locked(self):
        # POSIX record locks belong to the process, so a forked child holds its own; they do
        # not exclude this process's threads, hence the threading lock around them.
        with self._lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX, 0, HEADER_BYTES)
            try:
                yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 0, HEADER_BYTES)

    def _after_fork(self) -> None:
        # A thread of the parent may have held the lock at fork; the child has no such thread.
        self._lock = threading.Lock()


def _find(mm: mmap.mmap, at: int, h: int, now: float) -> tuple[int, bool]:
    """The slot that counts `h` in the bucket at `at`, and whether its window is live.

    `h`'s own slot if it has one; else, while the overflow is live, the overflow (a key that
    did not fit keeps sharing it until it ends, so a slot freed meanwhile resets nobody's
    count); else the first slot whose window has ended; else the overflow."""
    ends = _ENDS.unpack_from(mm, at + _ENDS_AT)
    hashes = _HASHES.unpack_from(mm, at)
    try:
        slot = hashes.index(h, 0, OVERFLOW)
    except ValueError:
        pass
    else:
        return slot, ends[slot] > now
    if ends[OVERFLOW] > now:
        return OVERFLOW, True
    for slot in range(OVERFLOW):
        if ends[slot] <= now:
            return slot, False
    return OVERFLOW, False


def _count(
    mm: mmap.mmap, at: int, slot: int, h: int, end: float, amount: int, live: bool
) -> tuple[int, float]:
    """Add `amount` to a live slot, or start the slot's window at `amount`."""
    count_at = at + _COUNTS_AT + 8 * slot
    if live:
        count = _SLOT_COUNT.unpack_from(mm, count_at)[0] + amount
        _SLOT_COUNT.pack_into(mm, count_at, count)
        return count, _SLOT_END.unpack_from(mm, at + _ENDS_AT + 8 * slot)[0]
    _SLOT_HASH.pack_into(mm, at + 8 * slot, 0 if slot == OVERFLOW else h)
    _SLOT_END.pack_into(mm, at + _ENDS_AT + 8 * slot, end)
    _SLOT_COUNT.pack_into(mm, count_at, amount)
    return amount, end


def _open_private(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise CounterFileError(f"Cannot open the rate-limit counters' file {path}: {exc}") from None
    st = os.fstat(fd)
    # In a shared directory (/dev/shm) another user could have made the file first, to read
    # or reset the counters: refuse a file that is not ours alone.
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        os.close(fd)
        raise CounterFileError(
            f"The rate-limit counters' file {path} belongs to another user or others may "
            f"read or write it (mode {st.st_mode & 0o777:o}); remove it or set "
            "TIDEWAY_RATE_LIMIT_FILE to a path of your own."
        )
    return fd


def _initialise(fd: int, path: str, buckets: int) -> int:
    """Size and stamp a new file, or read an existing one's size, under a whole-file lock so
    that processes starting together agree. The table's size is fixed when it is created."""
    fcntl.lockf(fd, fcntl.LOCK_EX)
    try:
        if os.fstat(fd).st_size == 0:
            os.ftruncate(fd, HEADER_BYTES + buckets * BUCKET_BYTES)
            os.pwrite(fd, HEADER.pack(MAGIC, buckets), 0)
            return buckets
        magic, existing = HEADER.unpack(os.pread(fd, HEADER.size, 0))
        size = os.fstat(fd).st_size
        if magic != MAGIC or size != HEADER_BYTES + existing * BUCKET_BYTES:
            raise CounterFileError(
                f"{path} is not a rate-limit counters' file; remove it or set "
                "TIDEWAY_RATE_LIMIT_FILE to another path."
            )
        return existing
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN)


def _close(mm: mmap.mmap, fd: int) -> None:
    mm.close()
    os.close(fd)


def _reinit_after_fork() -> None:
    for table in list(SharedCounters._open_tables.values()):
        table._after_fork()
    SharedCounters._registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_reinit_after_fork)
