"""`python -m feedback_api.run.writer_loop --socket @name`: the machine's writer process
(`store/writer_process.py` holds the server and its client). gunicorn's master starts it
before its workers, under a supervisor that starts it again should it die."""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time

from feedback_api.store.checkpoint import checkpoint_in_background
from feedback_api.store.writer_process import WriterServer

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m feedback_api.run.writer_loop")
    parser.add_argument(
        "--socket", required=True, help="Unix socket to listen on: a path, or @name (abstract)"
    )
    parser.add_argument(
        "--no-supervise", action="store_true", help="serve in this process, never restarted"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[writer] %(levelname)s %(message)s")
    # Ctrl-C reaches the whole process group: keep committing until the master, once its
    # workers have stopped, sends SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not args.no_supervise:
        command = [sys.executable, "-m", "feedback_api.run.writer_loop", "--socket", args.socket]
        return Supervisor([*command, "--no-supervise"]).run()
    from feedback_api import create_app

    # This process commits; it must not hand submissions to itself.
    app = create_app({"writer_socket": ""})
    committer = app.extensions["group_commit"]
    committer.hold_connection()  # this loop is its only user
    checkpoint_in_background(committer.engine, committer.held_connection())
    server = WriterServer(args.socket, committer)
    signal.signal(signal.SIGTERM, server.stop)
    server.listen()
    server.serve_forever()
    return 0


def _die_with_parent() -> None:
    # Run in the child between fork and exec: should the supervisor be killed outright
    # (SIGKILL, no chance to stop its writer), the kernel sends the writer SIGTERM rather
    # than leave it re-parented to init, outliving the server.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


class Supervisor:
    """Keeps one writer running: a writer that dies is started again on the same socket.

    While it is down the workers commit themselves (`WriterClient`), and they come back
    to it by themselves once it listens again. SIGTERM stops the writer and then this
    process; so does the disappearance of the process that started it (gunicorn's master),
    so a killed server leaves no writer behind.
    """

    MAX_BACKOFF = 30.0

    def __init__(self, command: list[str], *, poll: float = 0.2):
        self.command = command
        self.poll = poll
        self._stopping = False
        self._parent = os.getppid()

    def stop(self, *_args) -> None:
        self._stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        backoff = 0.5
        while not self._stopping:
            started = time.monotonic()
            child = subprocess.Popen(self.command, preexec_fn=_die_with_parent)
            while child.poll() is None and not self._stopping:
                if os.getppid() != self._parent:
                    log.warning("The server that started the writer is gone; stopping")
                    self._stopping = True
                    break
                time.sleep(self.poll)
            if self._stopping:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
                return 0
            if time.monotonic() - started > 60:
                backoff = 0.5  # it ran for a while: a new failure, not a crash loop
            log.warning(
                "Writer process %s exited (%s); starting another in %.1f s",
                child.pid,
                child.returncode,
                backoff,
            )
            deadline = time.monotonic() + backoff
            while not self._stopping and time.monotonic() < deadline:
                time.sleep(min(self.poll, backoff))
            backoff = min(backoff * 2, self.MAX_BACKOFF)
        return 0


if __name__ == "__main__":
    sys.exit(main())
