"""The one settings schema: environment variables (prefix ``TIDEWAY_``) over defaults.

The same schema renders the configuration reference (`render_reference`), so a setting
cannot exist without being documented (tests/test_docs.py holds the docs to it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
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
    host: str = Field("127.0.0.1", description="Interface the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    workers: int = Field(2, ge=1, le=64, description="Number of gunicorn worker processes.")
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

    @field_validator("allowed_origins", "reasons_helpful", "reasons_not_helpful", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("allowed_origins")
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

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return url


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and explicit overrides); raise ConfigError naming a bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            shown = f"{ENV_PREFIX}{name.upper()}"
            problems.append(f"{shown}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("Invalid configuration:\n  " + "\n  ".join(problems)) from None


def render_reference() -> str:
    """The configuration reference as a Markdown table, straight from the schema."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, list):
            default = ",".join(default)
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | `{default}` | {field.description or ''} |")
    return "\n".join(rows) + "\n"
