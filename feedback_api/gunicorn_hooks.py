"""gunicorn server hooks for `make serve`: run the SLA sweep loop beside the workers.

The loop is a child process of the master, not a thread in it: a thread running in the
master would be forked into every worker mid-flight (held locks and all).
"""

from __future__ import annotations

import subprocess
import sys

_loop: subprocess.Popen | None = None


def when_ready(server) -> None:
    global _loop
    from .config import load_settings

    interval = load_settings().sweep_interval_seconds
    if interval <= 0:
        server.log.info("SLA sweep off (TIDEWAY_SWEEP_INTERVAL_SECONDS=0)")
        return
    _loop = subprocess.Popen([sys.executable, "-m", "feedback_api.sweep_loop"])
    server.log.info("SLA sweep and mail every %s s (pid %s)", interval, _loop.pid)


def on_exit(server) -> None:
    if _loop is not None and _loop.poll() is None:
        _loop.terminate()
        try:
            _loop.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _loop.kill()
