"""The periodic SLA sweep and mail delivery that `make serve` runs beside gunicorn.

One process, started by gunicorn's master (feedback_api/run/gunicorn_hooks.py) and stopped with
it. Running it on several machines is safe (the sweep claims each task, the sender each
mail), so nothing has to elect a leader.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

log = logging.getLogger("tideway.sweep")


def run(interval: float, once: bool = False) -> int:
    from feedback_api import create_app
    from feedback_api.review import notify, sweep

    app = create_app()
    settings = app.config["SETTINGS"]
    review = app.extensions["review"]
    engine = app.extensions["store"].engine
    mail = notify.MailSettings.from_settings(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        try:
            report = sweep.sweep(engine, review.policy, settings.public_url)
            sent = notify.deliver(engine, mail)
            if report.warned or report.escalated or report.closed or sent["sent"]:
                log.info("SLA sweep: %s; mail %s", report.summary(), sent)
        except Exception:  # the store may be briefly away; the next round tries again
            log.exception("SLA sweep failed; trying again in %s s", interval)
        if once:
            break
        stop.wait(interval)
    app.extensions["store"].dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m feedback_api.run.sweep_loop", description=__doc__
    )
    parser.add_argument("--interval", type=float, help="seconds between rounds")
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[sweep] %(message)s")
    from feedback_api.config import load_settings

    interval = args.interval or load_settings().sweep_interval_seconds or 60
    return run(interval, args.once)


if __name__ == "__main__":
    sys.exit(main())
