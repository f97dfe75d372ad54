"""Rate limits per client and per page (Flask-Limiter): in memory for one process, in
Redis when configured, so that the limit holds across every API process."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g
from flask_limiter import Limiter

from .http_input import client_hash, read_json_body


def client_key() -> str:
    if "client_key" not in g:
        g.client_key = client_hash()
    return g.client_key


def page_key() -> str:
    try:
        body = read_json_body()
    except Exception:  # a bad body is answered by the view itself
        return "invalid"
    if not isinstance(body, dict):
        return "invalid"
    return f"{str(body.get('version'))[:64]}|{str(body.get('page'))[:512]}"


def setting(name: str) -> Callable[[], str]:
    return lambda: getattr(current_app.config["SETTINGS"], name)


limiter = Limiter(
    key_func=client_key,
    strategy="fixed-window",
    # A Redis outage must not take the public endpoint down: fall back to memory.
    swallow_errors=True,
    in_memory_fallback_enabled=True,
    headers_enabled=False,
)


def install_limits(app: Flask) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = app.config["SETTINGS"].rate_limit_storage
    limiter.init_app(app)
