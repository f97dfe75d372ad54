"""One writer process per machine: the workers hand it their submissions over a Unix socket.

Group commit inside one worker only batches what that worker's threads hold at once, and
its leader has to win the worker's GIL back after every database call while the other
threads parse requests: under load a commit of a few rows took 1–3 ms of held lock, most
of it waiting for the interpreter. Here a single-threaded process reads every submission
that arrived while it was committing, from every worker, and commits them together (the
same `GroupCommitter.commit_rows`, review-task hook included). A worker's thread only
sends a frame and waits for the answer, with the GIL released.

Nothing is acknowledged before its commit: the answer is sent after `commit_rows` returns.
Routing to review tasks follows the answer (`GroupCommitter.defer_routing`): the committed
rows are routed together once ROUTE_BATCH of them wait or the oldest has waited ROUTE_DELAY,
so that one routing transaction (and its fsync) serves many commits, and no acknowledgement
waits for a routing statement of its own. (Routing whenever no submission was waiting made
routing batches as small as the commits: one more fsync per commit, and more CPU.) On
PostgreSQL a thread routes (`RoutingThread`), on connections of its own, so that the commits
go on while a routing batch waits for the database; SQLite takes one writing transaction at
a time, so there the loop routes between its commits.
When the writer cannot be reached, or drops the connection mid-request, the worker commits
the submission itself; its idempotency key makes that safe even when the writer did commit
it (the insert then finds the key, and the request is answered as a replay).

Frames are a 4-byte big-endian length and a marshalled tuple (ROW_FIELDS, below). The
socket is normally an abstract one (`@name`: Linux keeps no file for it, so a killed server
leaves nothing behind), and the writer accepts only processes of its own user, by the
kernel's peer credentials.
"""

from __future__ import annotations

import logging
import marshal
import operator
import os
import selectors
import socket
import struct
import threading
import time
from datetime import UTC, datetime, timedelta

from .writer import GroupCommitter

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 20  # a submission is at most 16 KiB of JSON; anything this big is a bug
_DATETIMES = ("created_at", "amended_at")
RETRY_AFTER_FAILURE = 1.0  # seconds a worker commits itself before trying the writer again
ROUTE_BATCH = 1024  # rows routed in one transaction at most
ROUTE_DELAY = 0.25  # seconds a committed row waits for its routing at most
RETRY_ROUTING = 5.0  # seconds before rows whose routing failed are looked for again
LEFTOVER_BATCH = 256  # rows left unrouted by a stopped writer, routed in one turn of the loop
# When fewer submissions arrived than the last batch held, more are on their way: waiting
# this long for them (once) shares one commit, its fsync and its WAL pages among more rows.
# A lone request (a batch of one before it) never waits.
GATHER = 0.0005  # seconds


def _address(path: str) -> str:
    """`@name` is an abstract socket (no file); anything else a filesystem path."""
    return "\0" + path[1:] if path.startswith("@") else path


def _peer_uid(sock: socket.socket) -> int:
    pid_uid_gid = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", pid_uid_gid)[1]


class WriterError(RuntimeError):
    """The writer process could not commit (the store's error, by name)."""


# A submission travels as a tuple of its values in this order, each a str, int, bool, None
# or list of str, its times as integer microseconds since the epoch (UTC), and is answered
# with (id, task_id), None (its key was stored before) or the name of the store's error.
# JSON with ISO times and named fields cost about 8 us a row between the two processes;
# marshal about 3. marshal is not meant for data from elsewhere (a crafted frame can
# crash the reader), and none comes from elsewhere: only processes of the writer's own
# user may connect (_accept checks the peer's credentials), and a worker trusts its writer.
ROW_FIELDS = (
    "page", "version", "rating", "comment", "reasons", "selection", "anchor", "email",
    "notify", "locale", "client_hash", "amend_token_hash", "idempotency_key", "request_hash",
    "created_at", "amended_at",
)  # fmt: skip
_TIMES = tuple(ROW_FIELDS.index(name) for name in _DATETIMES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _frame(value) -> bytes:
    body = marshal.dumps(value)
    return _HEADER.pack(len(body)) + body


def _encode_row(row: dict) -> tuple:
    if len(row) != len(ROW_FIELDS):
        raise ValueError(f"a submission has the fields {ROW_FIELDS}, not {tuple(row)}")
    values = list(_row_values(row))
    for i in _TIMES:
        if values[i] is not None:
            values[i] = (values[i] - _EPOCH) // _MICROSECOND  # exact; aware times only
    return tuple(values)


def _decode_row(values: tuple) -> dict:
    row = dict(zip(ROW_FIELDS, values, strict=True))
    for name in _DATETIMES:
        if row[name] is not None:
            row[name] = _EPOCH + timedelta(microseconds=row[name])
    return row


_row_values = operator.itemgetter(*ROW_FIELDS)


def _read_frame(sock: socket.socket):
    data = b""
    while True:
        chunk = sock.recv(1 << 16)  # an answer is tiny: nearly always one recv
        if not chunk:
            raise ConnectionError("the writer closed the connection")
        data += chunk
        if len(data) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(data)
            if len(data) >= _HEADER.size + size:
                return marshal.loads(data[_HEADER.size : _HEADER.size + size])


class WriterClient:
    """What a worker's request threads call: `insert(row)`, as on a `GroupCommitter`."""

    def __init__(self, path: str, local: GroupCommitter):
        self.path = path
        self.local = local  # used whenever the writer cannot be reached
        # Connections kept open between requests, each lent to one request at a time: a
        # thread-local one would be per greenlet under gevent, one connect per request.
        self._idle: list[socket.socket] = []
        self._idle_lock = threading.Lock()
        self._down_until = 0.0

    def insert(self, row: dict, timeout: float = 10.0) -> tuple[int, int | None] | None:
        sock = self._connection()
        if sock is None:
            return self.local.insert(row, timeout)
        try:
            if sock.gettimeout() != timeout:
                sock.settimeout(timeout)
            sock.sendall(_frame(_encode_row(row)))
            reply = _read_frame(sock)
        except TimeoutError:
            sock.close()
            raise  # the writer is alive but stuck: the store is unavailable
        except OSError:
            # The writer went away, before or after committing: commit here; the key
            # makes a second insert of a committed row a no-op (answered as a replay).
            sock.close()
            self._down_until = time.monotonic() + RETRY_AFTER_FAILURE
            log.warning("Writer process unavailable; committing in the worker", exc_info=True)
            return self.local.insert(row, timeout)
        with self._idle_lock:
            self._idle.append(sock)
        if isinstance(reply, str):
            raise WriterError(reply)
        return reply  # (id, task_id), or None: the key was stored before

    def _connection(self) -> socket.socket | None:
        """An idle connection to the writer, or a new one; None while it is down."""
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        if time.monotonic() < self._down_until:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(_address(self.path))
        except OSError:
            sock.close()
            self._down_until = time.monotonic() + RETRY_AFTER_FAILURE
            return None
        return sock


class _Peer:
    __slots__ = ("sock", "buffer")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()


_WAKE = object()  # the selector's mark for the wake-up pair


class WriterServer:
    """The single-threaded loop: read every waiting submission, commit them, answer each."""

    def __init__(self, path: str, committer: GroupCommitter, *, max_batch: int = 256):
        self.path = path
        self.committer = committer
        self.max_batch = max_batch
        self._selector = selectors.DefaultSelector()
        self._stopping = False
        self._listener: socket.socket | None = None
        # stop() writes a byte here: run by a signal handler while select() waits, it
        # would otherwise be noticed only at select()'s timeout (0.5 s of every Ctrl-C).
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        committer.defer_routing = True
        self._unrouted_since = 0.0
        self._leftovers_at: float | None = 0.0  # when to look for unrouted rows; None: never
        # PostgreSQL routes on connections of its own, beside the commits, so that no answer
        # waits for a routing batch; SQLite lets one transaction write at a time, so there
        # the loop routes between its commits.
        self._router = RoutingThread(committer) if _routes_beside(committer) else None

    def listen(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o177)  # a socket file: only this user may open it
        try:
            listener.bind(_address(self.path))
        finally:
            os.umask(previous)
        listener.listen(512)
        listener.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._listener = listener

    def stop(self, *_args) -> None:
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # already awake (the pair is full) or closed

    def serve_forever(self) -> None:
        if self._listener is None:
            self.listen()
        if self._router is not None:
            self._router.start()
        try:
            last = 0
            while not self._stopping:
                waiting = self._collect(self._idle_wait())
                if waiting and last > 1 and len(waiting) < last:
                    waiting += self._collect(GATHER)
                last = len(waiting)
                # Everything that arrived during the last commit was read above: one batch.
                for start in range(0, len(waiting), self.max_batch):
                    self._commit(waiting[start : start + self.max_batch])
                if self._router is None:
                    self._route()
        finally:
            try:
                # A graceful stop leaves nothing unrouted.
                if self._router is None:
                    self._route(now=True)
                else:
                    self._router.stop()
            finally:
                self._close()

    def _collect(self, timeout: float) -> list[tuple[_Peer, dict]]:
        waiting: list[tuple[_Peer, dict]] = []
        for key, _events in self._selector.select(timeout=timeout):
            if key.data is None:
                self._accept()
            elif key.data is _WAKE:
                continue  # the loop's condition sees why
            else:
                waiting.extend(self._read(key.data))
        return waiting

    def _idle_wait(self) -> float:
        """How long to wait for submissions: until the oldest unrouted row is due, or not at
        all while leftovers wait for their next batch."""
        if self._router is not None:
            return 0.5
        clock = time.monotonic()
        if self._leftovers_at is not None and clock >= self._leftovers_at:
            return 0.0
        if not self.committer.unrouted:
            return 0.5
        return max(0.0, self._unrouted_since + ROUTE_DELAY - clock)

    def _route(self, *, now: bool = False) -> None:
        """Route the committed rows once they are many or the oldest is due."""
        clock = time.monotonic()
        if self._leftovers_at is not None and clock >= self._leftovers_at:
            # Those a stopped writer left, or a failed routing: looked for again on failure.
            # One batch per turn of the loop, so that a backlog of thousands (routing that
            # failed for a while) delays no acknowledgement by more than one batch.
            routed = self.committer.route_leftovers(LEFTOVER_BATCH, batches=1)
            if routed is None:
                self._leftovers_at = clock + RETRY_ROUTING
            elif routed < LEFTOVER_BATCH:
                self._leftovers_at = None
        unrouted = self.committer.unrouted
        if not unrouted:
            return
        if not self._unrouted_since:
            self._unrouted_since = clock
        due = clock - self._unrouted_since >= ROUTE_DELAY
        if not (now or due or len(unrouted) >= ROUTE_BATCH):
            return
        try:
            self.committer.route_unrouted(ROUTE_BATCH)
        except Exception:
            log.exception("Routing failed in the writer process; retrying from the store")
            self._leftovers_at = clock + RETRY_ROUTING
        self._unrouted_since = time.monotonic() if self.committer.unrouted else 0.0

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        if _peer_uid(sock) != os.getuid():
            sock.close()  # only the server's own workers may hand in submissions
            return
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, _Peer(sock))

    def _read(self, peer: _Peer) -> list[tuple[_Peer, dict]]:
        try:
            data = peer.sock.recv(1 << 16)
        except BlockingIOError:
            return []
        except OSError:
            data = b""
        if not data:
            self._forget(peer)
            return []
        peer.buffer += data
        rows = []
        while len(peer.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(peer.buffer)
            if size > MAX_FRAME:
                self._forget(peer)
                return rows
            end = _HEADER.size + size
            if len(peer.buffer) < end:
                break
            try:
                rows.append((peer, _decode_row(marshal.loads(peer.buffer[_HEADER.size : end]))))
            except (ValueError, TypeError, EOFError, OverflowError):
                self._forget(peer)  # not one of our workers: drop it, answer nothing
                return rows
            del peer.buffer[:end]
        return rows

    def _commit(self, waiting: list[tuple[_Peer, dict]]) -> None:
        try:
            replies = self.committer.commit_rows([row for _peer, row in waiting])
        except Exception as exc:  # the store's error: every waiting request gets a 503
            log.warning("Commit failed in the writer process: %s", exc)
            replies = [type(exc).__name__] * len(waiting)
        for (peer, _row), reply in zip(waiting, replies, strict=True):
            try:
                peer.sock.send(_frame(reply))  # tiny, one per peer in flight: never blocks
            except OSError:
                self._forget(peer)

    def _forget(self, peer: _Peer) -> None:
        try:
            self._selector.unregister(peer.sock)
        except (KeyError, ValueError):
            pass
        peer.sock.close()

    def _close(self) -> None:
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()
        self._wake_w.close()
        if not self.path.startswith("@"):
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def _routes_beside(committer: GroupCommitter) -> bool:
    return committer.engine.dialect.name == "postgresql"


class RoutingThread(threading.Thread):
    """Routes the writer's committed rows every ROUTE_DELAY, ROUTE_BATCH at a time, each
    pass on a connection of its own: the commits go on meanwhile (PostgreSQL runs the two
    transactions side by side; a routing pass waits for the database's answers with the
    interpreter lock released)."""

    def __init__(self, committer: GroupCommitter):
        super().__init__(name="routing", daemon=True)
        self.committer = committer
        self._stopping = threading.Event()
        self._leftovers_at: float | None = 0.0  # as WriterServer's

    def run(self) -> None:
        while True:
            stopping = self._stopping.wait(ROUTE_DELAY)
            try:
                self._pass()
            except Exception:  # no connection: the rows stay unrouted in the store
                log.exception("Routing failed in the writer process; retrying from the store")
                self._leftovers_at = time.monotonic() + RETRY_ROUTING
            if stopping:
                return

    def _pass(self) -> None:
        with self.committer.engine.connect() as conn:
            clock = time.monotonic()
            if self._leftovers_at is not None and clock >= self._leftovers_at:
                failed = self.committer.route_leftovers(conn=conn) is None
                self._leftovers_at = clock + RETRY_ROUTING if failed else None
            while self.committer.route_unrouted(ROUTE_BATCH, conn):
                pass

    def stop(self, timeout: float = 10.0) -> None:
        """Route what is left, then end."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)


def wait_until_listening(path: str, timeout: float = 20.0, proc=None) -> bool:
    """True once a connection to `path` succeeds (False on timeout or if `proc` died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(_address(path))
            return True
        except OSError:
            time.sleep(0.05)
        finally:
            probe.close()
    return False
