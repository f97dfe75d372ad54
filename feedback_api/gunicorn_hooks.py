"""gunicorn server hooks: the writer process, (for `make serve`) the SLA sweep loop, and a
worker's quick shutdown run once.

Both are child processes of the master, started before the workers, not threads in it: a
thread running in the master would be forked into every worker mid-flight (held locks and
all). The master stops them after its workers, so a worker finishing a request during a
graceful shutdown still has its writer.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys

from .store.writer_process import wait_until_listening

# Set by `gunicorn_args(..., sweep=True)` through gunicorn's --env.
SWEEP_FLAG = "TIDEWAY_SERVE_SWEEP"

_children: list[subprocess.Popen] = []


def when_ready(server) -> None:
    from .config import load_settings

    settings = load_settings()
    if settings.writer_process:
        _start_writer(server)
    if os.environ.get(SWEEP_FLAG) != "1":
        return
    interval = settings.sweep_interval_seconds
    if interval <= 0:
        server.log.info("SLA sweep off (TIDEWAY_SWEEP_INTERVAL_SECONDS=0)")
        return
    loop = subprocess.Popen([sys.executable, "-m", "feedback_api.sweep_loop"])
    _children.append(loop)
    server.log.info("SLA sweep and mail every %s s (pid %s)", interval, loop.pid)


def _start_writer(server) -> None:
    # An abstract socket: nothing on disk to clean up, even after a SIGKILL.
    path = f"@tideway-writer-{os.getpid()}-{secrets.token_hex(8)}"
    # It supervises the writer itself, which it starts again should it die.
    writer = subprocess.Popen([sys.executable, "-m", "feedback_api.writer_loop", "--socket", path])
    _children.append(writer)
    if wait_until_listening(path, proc=writer):
        server.log.info("Writer process on %s (supervisor pid %s)", path, writer.pid)
    elif writer.poll() is None:
        server.log.warning("Writer process not listening yet; workers commit their own until it is")
    else:
        server.log.warning("Writer process did not start; each worker commits its own")
        return
    # Workers are forked after this hook and inherit the variable.
    os.environ["TIDEWAY_WRITER_SOCKET"] = path


def on_exit(server) -> None:
    for child in reversed(_children):
        if child.poll() is None:
            child.terminate()
    for child in _children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def post_worker_init(worker) -> None:
    """A worker's quick shutdown runs once, whatever number of signals asks for it.

    Ctrl-C sends SIGINT to every process of the group, and the master then sends its workers
    SIGQUIT. A gthread worker's handler shuts its thread pool down under a lock; the second
    handler, run inside the first, waits for that same lock for ever, and the master
    SIGKILLs the worker after the graceful timeout ("Perhaps out of memory?").
    """
    quit_now = worker.handle_quit

    def quit_once(sig, frame) -> None:
        for name in (signal.SIGINT, signal.SIGQUIT):
            signal.signal(name, signal.SIG_IGN)
        quit_now(sig, frame)

    for name in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(name, quit_once)
