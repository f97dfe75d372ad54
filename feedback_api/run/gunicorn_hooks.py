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

from feedback_api.run import gunicorn_errors
from feedback_api.store.writer_process import wait_until_listening

# Set by `gunicorn_args(..., sweep=True)` through gunicorn's --env.
SWEEP_FLAG = "TIDEWAY_SERVE_SWEEP"

_children: list[subprocess.Popen] = []

# Loaded as gunicorn's configuration, in the master: the workers it forks inherit this.
gunicorn_errors.install()


def when_ready(server) -> None:
    from feedback_api.config import load_settings

    settings = load_settings()
    _log_deploy_findings(server, settings)
    if settings.writer_process:
        _start_writer(server)
    if os.environ.get(SWEEP_FLAG) != "1":
        return
    interval = settings.sweep_interval_seconds
    if interval <= 0:
        server.log.info("SLA sweep off (TIDEWAY_SWEEP_INTERVAL_SECONDS=0)")
        return
    loop = _spawn([sys.executable, "-m", "feedback_api.run.sweep_loop"])
    _children.append(loop)
    server.log.info("SLA sweep and mail every %s s (pid %s)", interval, loop.pid)


def _log_deploy_findings(server, settings) -> None:
    """What `flask --app feedback_api check --deploy` finds, one log line each."""
    from feedback_api.run.deploy_check import run_checks

    for finding in run_checks(settings):
        (server.log.error if finding.is_error else server.log.warning)(finding.line())


def _spawn(command: list[str]) -> subprocess.Popen:
    """Start a child that the master stops (SIGTERM) after its workers.

    It starts with SIGINT ignored (kept across exec, and by Python): Ctrl-C reaches the
    whole process group, and one pressed while the child still imports would end it with a
    KeyboardInterrupt traceback. A child may still install its own SIGINT handler.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.Popen(command)
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_writer(server) -> None:
    # An abstract socket: nothing on disk to clean up, even after a SIGKILL.
    path = f"@tideway-writer-{os.getpid()}-{secrets.token_hex(8)}"
    # It supervises the writer itself, which it starts again should it die.
    writer = _spawn([sys.executable, "-m", "feedback_api.run.writer_loop", "--socket", path])
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


def _already_quitting(_sig, _frame) -> None:
    pass


def post_fork(server, worker) -> None:
    """A worker's quick shutdown runs once, whatever number of signals asks for it.

    Ctrl-C sends SIGINT to every process of the group, and the master then sends its workers
    SIGQUIT. A gthread worker's handler shuts its thread pool down under a lock; the second
    handler, run inside the first, waits for that same lock for ever, and the master
    SIGKILLs the worker after the graceful timeout ("Perhaps out of memory?"). Set here,
    before the worker installs its handlers, it also covers a worker still loading the app.
    """
    quit_now = _gevent_quit(worker) if _is_gevent(worker) else worker.handle_quit

    def quit_once(sig, frame) -> None:
        # A handler that does nothing, not SIG_IGN: a signal already caught but not yet
        # handled would then raise "Signal 3 ignored due to race condition".
        for name in (signal.SIGINT, signal.SIGQUIT):
            signal.signal(name, _already_quitting)
        quit_now(sig, frame)

    worker.handle_quit = quit_once  # what the worker's init_signals() installs

    # Until init_signals() the worker still has the master's handlers, which only queue the
    # signal for a master loop the worker never runs: a Ctrl-C while it was booting (the
    # gevent worker patches the standard library first) was lost, and the master SIGKILLed
    # the worker after the graceful timeout. Remembered here, acted on in post_worker_init.
    def asked_to_stop(_sig, _frame) -> None:
        worker.tideway_stop_asked = True

    worker.tideway_stop_asked = False
    for name in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(name, asked_to_stop)


def post_worker_init(worker) -> None:
    """A worker asked to stop while it booted leaves now, before serving anything."""
    if getattr(worker, "tideway_stop_asked", False):
        sys.exit(0)


def _is_gevent(worker) -> bool:
    return type(worker).__module__ == "gunicorn.workers.ggevent"


def _gevent_quit(worker):
    """gunicorn's gevent quick shutdown, without its race.

    It clears `alive`, then sleeps 0.1 s in a greenlet before `sys.exit(0)`. If the worker's
    main loop wakes in that window it returns on its own, the process starts exiting, and the
    late `SystemExit` lands in the interpreter's shutdown as a traceback (about one Ctrl-C in
    ten). Here the exit comes first: the main loop never sees `alive` cleared.
    """
    import gevent

    def quit_now() -> None:
        worker.cfg.worker_int(worker)
        sys.exit(0)

    return lambda _sig, _frame: gevent.spawn(quit_now)
