"""The one settings schema: environment variables (prefix ``TIDEWAY_``) over defaults.

The same schema renders the configuration reference (`render_reference`), so a setting
cannot exist without being documented (tests/test_docs.py holds the docs to it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "TIDEWAY_"


# Reason codes a reader can tick; the widget's labels are keyed by these codes and the
# triage rules read them (an inaccurate page or a broken example outranks hard to follow).
DEFAULT_REASONS_HELPFUL = (
    "solved_my_problem",
    "easy_to_understand",
    "accurate",
    "good_examples",
    "other",
)
DEFAULT_REASONS_NOT_HELPFUL = (
    "inaccurate",
    "broken_example",
    "hard_to_follow",
    "missing_information",
    "outdated",
    "other",
)


class ConfigError(RuntimeError):
    """A setting has a value the product cannot start with; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite:///var/feedback.sqlite3",
        description="SQLAlchemy URL of the store. SQLite (the default, a file relative to the "
        "working directory) or `postgresql+psycopg://user:pass@host/db`.",
    )
    site_dir: Path = Field(
        Path("var/site"),
        description="Directory of the published, versioned site (mike's tree: `versions.json` "
        "at its root). Served at `/` and read for the page manifests.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins (`https://docs.example.com`) allowed to call the "
        "API from a browser. Empty: same origin only.",
    )
    site_api_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins of a feedback API on another origin that the "
        "published pages served here call (the plugin's `api_base` when it is absolute); the "
        "pages' Content-Security-Policy allows them in `connect-src`. Empty: this origin only.",
    )
    site_url: str | None = Field(
        None,
        description="Base URL of the published site when the API runs on another machine "
        "(`https://docs.example.com/`); the page manifests are then read from it. Unset: read "
        "from `TIDEWAY_SITE_DIR`.",
    )
    secret_key: str | None = Field(
        None,
        min_length=32,
        description="Secret for amend tokens and the keyed hash of client addresses; the same "
        "on every API process. Unset: generated once into `var/secret.key`.",
    )
    rate_limit_client: str = Field(
        "30/minute;300/hour",
        description="Submissions one client (by keyed address hash) may send, in "
        "Flask-Limiter notation.",
    )
    rate_limit_page: str = Field(
        "600/minute",
        description="Submissions all clients together may send about one page of one version.",
    )
    rate_limit_storage: str = Field(
        "machine://",
        description="Where rate-limit counters live: `machine://`, a file every process of "
        "this machine shares (`TIDEWAY_RATE_LIMIT_FILE`); `redis://host:6379/0`, shared by "
        "every machine (while Redis is down, each process counts on its own); `memory://`, "
        "each process on its own.",
    )
    rate_limit_file: Path | None = Field(
        None,
        description="The `machine://` counters' file: a fixed-size table (12 MiB, sparse) "
        "mapped into memory, mode 0600. Unset: beside a SQLite store "
        "(`var/feedback.sqlite3-limits`), else `/dev/shm/tideway-limits-UID-HASH` named "
        "for the working directory and `TIDEWAY_DATABASE_URL`.",
    )
    proxy_count: int = Field(
        0,
        ge=0,
        le=5,
        description="Number of trusted reverse proxies in front of the API; the client address "
        "is then taken from `X-Forwarded-For`.",
    )
    host: str = Field("127.0.0.1", description="Interface the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    workers: int = Field(2, ge=1, le=64, description="Number of gunicorn worker processes.")
    worker_connections: int = Field(
        1000,
        ge=10,
        le=10000,
        description="Connections each worker process serves at once (gevent: one greenlet "
        "each, not a thread, so slow or idle clients hold no thread).",
    )
    body_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a client has to send a request's whole body, once its headers "
        "have arrived. A body still arriving then is answered `408` (`request_timeout`) and "
        "not read further, so a client dripping bodies holds no connection for long.",
    )
    writer_process: bool = Field(
        True,
        description="Under the server, commit submissions in one writer process per machine "
        "that the worker processes hand them to, so that one commit carries everything that "
        "arrived together across the machine, and routes them to review tasks right after "
        "answering. Off: each worker commits its own, routed before the answer.",
    )
    writer_socket: str = Field(
        "",
        description="Unix socket of the writer process (`@name` for an abstract socket). The "
        "server sets it for its workers; "
        "empty: commit in this process.",
    )
    reasons_helpful: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REASONS_HELPFUL),
        description="Comma-separated reason codes a reader may give with a helpful rating.",
    )
    reasons_not_helpful: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REASONS_NOT_HELPFUL),
        description="Comma-separated reason codes a reader may give with a not-helpful rating.",
    )
    publish_branch: str = Field(
        "tideway-site",
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="Local git branch that mike commits the published site to.",
    )
    dashboard_idle_minutes: int = Field(
        30,
        ge=1,
        le=24 * 60,
        description="Minutes without a request after which a reviewer's dashboard session "
        "ends and they must sign in again.",
    )
    dashboard_session_hours: int = Field(
        12,
        ge=1,
        le=30 * 24,
        description="Hours after signing in that a reviewer's dashboard session ends however "
        "much it is used; then they sign in again.",
    )
    dashboard_cookie_secure: Literal["auto", "always"] = Field(
        "auto",
        description="`auto`: the dashboard's session cookie is `Secure` when the request came "
        "over HTTPS (directly, or per `X-Forwarded-Proto` from a trusted proxy, see "
        "`TIDEWAY_PROXY_COUNT`). `always`: `Secure` on every response.",
    )
    dashboard_signin_limit: str = Field(
        "10/minute;50/hour",
        description="Failed sign-in attempts one client may make on the dashboard, in all "
        "and on one account name, in Flask-Limiter notation. Counted per client, so failing "
        "on purpose from elsewhere locks nobody else out of their account.",
    )
    dashboard_page_size: int = Field(
        50, ge=10, le=500, description="Tasks per page of the dashboard's queue."
    )

    @field_validator(
        "allowed_origins",
        "site_api_origins",
        "reasons_helpful",
        "reasons_not_helpful",
        mode="before",
    )
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("allowed_origins", "site_api_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin == "*" or not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin like https://docs.example.com")
            if origin.rstrip("/").count("/") > 2:
                raise ValueError(f"{origin!r} has a path; an origin is scheme://host[:port]")
        return [o.rstrip("/") for o in origins]

    @field_validator("reasons_helpful", "reasons_not_helpful")
    @classmethod
    def _check_reasons(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not code.replace("_", "").isalnum() or not code.islower() or len(code) > 40:
                raise ValueError(f"{code!r} is not a reason code like broken_example")
        return codes

    @field_validator("rate_limit_storage")
    @classmethod
    def _check_storage(cls, uri: str) -> str:
        if not uri.startswith(("machine://", "memory://", "redis://", "rediss://")):
            raise ValueError("must be machine://, memory:// or a redis:// URL")
        return uri

    @field_validator("rate_limit_client", "rate_limit_page", "dashboard_signin_limit")
    @classmethod
    def _check_limits(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError("is not a rate limit like 30/minute;300/hour") from None
        return value

    @field_validator("site_url")
    @classmethod
    def _check_site_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return url if url is None or url.endswith("/") else url + "/"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        from sqlalchemy.engine import make_url

        try:
            make_url(url).port  # noqa: B018 - parses the URL, the port included
        except Exception:
            # Not the parser's message: it may quote the URL, password and all.
            raise ValueError(
                "is not a database URL like postgresql+psycopg://user@host:5432/db"
            ) from None
        return url

    # -- Review work: triage, SLA, the sweep and the readers' mail (feedback_api/review/tasks.py) --
    triage_policy_file: Path | None = Field(
        None,
        description="YAML file of the triage and SLA policy (service levels, business "
        "calendar, classes, priority rules); see *Triage and SLA*. Unset: the defaults.",
    )
    owners_file: Path = Field(
        Path("owners.yml"),
        description="YAML list of `{pattern, team}`: which team owns pages whose front matter "
        "names no `owner:`. A missing file means no patterns.",
    )
    default_team: str = Field(
        "docs-team",
        min_length=1,
        max_length=64,
        description="The team that gets a task when neither front matter nor the owners file "
        "names one.",
    )
    public_url: str | None = Field(
        None,
        description="The site and API as readers reach them; links in mails start with it. "
        "Unset: the served address, `http://TIDEWAY_HOST:TIDEWAY_PORT/` (with `127.0.0.1` "
        "for a server listening on every interface).",
    )
    smtp_host: str | None = Field(
        None,
        description="SMTP server for mail to readers and reviewers. Unset: mail waits "
        "in the outbox until one is configured.",
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str | None = Field(None, description="SMTP user name, if it needs one.")
    smtp_password: str | None = Field(None, description="SMTP password, if it needs one.")
    smtp_from: str = Field(
        "Tideway Docs <docs@localhost>", description="The `From:` of every mail."
    )
    mail_max_attempts: int = Field(
        12,
        ge=1,
        le=100,
        description="Attempts to deliver one mail (waits double from 1 minute up to 6 hours "
        "between them) before it is dropped.",
    )
    min_free_disk_mb: int = Field(
        64,
        ge=0,
        description="`/readyz` answers not ready when the disk of a SQLite store has less "
        "free space than this: a load balancer sends no traffic where every write would fail.",
    )
    mail_daily_cap: int = Field(
        5,
        ge=1,
        le=1000,
        description='Mails to one reader\'s address (confirmation, acknowledgement, "fixed") '
        "in any 24 hours; more are dropped unsent, with `cap` as their error.",
    )
    sweep_interval_seconds: int = Field(
        60,
        ge=0,
        description="How often `make serve` runs the SLA sweep and sends due mail; `0` turns "
        "that off (schedule `flask --app feedback_api sla sweep` instead).",
    )

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return url if url.endswith("/") else url + "/"

    @model_validator(mode="after")
    def _public_url_follows_the_server(self) -> Settings:
        if self.public_url is None:
            # Frozen: set once here, while the settings are being made.
            object.__setattr__(self, "public_url", served_url(self.host, self.port))
        return self


def served_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches the server at."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host.strip('[]')}]"
    return f"http://{host}:{port}/"


# Settings whose value is a secret: a configuration error names them but never shows them.
SECRET_SETTINGS = frozenset({"secret_key", "smtp_password"})
# Settings that are URLs and may carry a password (`scheme://user:password@host`): a
# configuration error shows them with the password masked.
URL_SETTINGS = frozenset({"database_url", "rate_limit_storage", "site_url", "public_url"})
_URL_PASSWORD = re.compile(r"(?P<head>//[^/@:]*:)[^@]*@")


def redact_url(url: str) -> str:
    """`url` with the password of its user part replaced by `***`."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + "***@", url)


def _shown_input(name: str, value: Any) -> str:
    if name in SECRET_SETTINGS:
        return " (the value is not shown: it is a secret)"
    if name not in Settings.model_fields:
        return ""  # a whole-model error: its input is every setting, secrets included
    if name in URL_SETTINGS and isinstance(value, str):
        return f" (got {redact_url(value)!r})"
    return f" (got {value!r})"


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and explicit overrides); raise ConfigError naming a bad setting.

    The message shows a rejected value, except a secret's (`SECRET_SETTINGS`) and the
    password of a URL (`URL_SETTINGS`): start-up output ends up in logs and in tickets.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=True):
            name = str(err["loc"][0]) if err["loc"] else "?"
            shown = f"{ENV_PREFIX}{name.upper()}"
            message = err["msg"]
            if name in SECRET_SETTINGS or name in URL_SETTINGS:
                message = redact_url(message)
            problems.append(f"{shown}: {message}{_shown_input(name, err.get('input'))}")
        raise ConfigError("Invalid configuration:\n  " + "\n  ".join(problems)) from None


def resolve_secret(settings: Settings, var_dir: Path = Path("var")) -> bytes:
    """The configured secret, or one generated once and kept in var/secret.key (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = var_dir / "secret.key"
    if not path.exists():
        import secrets
        import tempfile

        var_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=var_dir)  # mode 0600
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # atomic: of two processes starting at once, one wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip().encode()


def render_reference() -> str:
    """The configuration reference as a Markdown table, straight from the schema."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, list):
            default = ",".join(default)
        elif default is None:
            default = "(unset)"
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | `{default}` | {field.description or ''} |")
    return "\n".join(rows) + "\n"
