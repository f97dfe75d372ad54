"""The triage and SLA policy: its schema, its defaults, and the reference page rendered from it.

The policy is one YAML file (`TIDEWAY_TRIAGE_POLICY_FILE`); every key may be left out and
then has the default below, which is the service-level table of the support practice this
product follows. Owners by path live in their own file (`TIDEWAY_OWNERS_FILE`), because the
docs' writers edit it and the platform team edits the policy.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from feedback_api.config import ConfigError

from .sla import BusinessCalendar, parse_duration

Category = Literal["problem", "suggestion", "request", "praise", "complaint"]
Priority = Literal["urgent", "important", "normal", "suggestion", "request"]
CATEGORIES: tuple[str, ...] = ("problem", "suggestion", "request", "praise", "complaint")
# Highest first: a rule can raise a task's priority, never lower it.
PRIORITIES: tuple[str, ...] = ("urgent", "important", "normal", "suggestion", "request")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(ConfigError):
    """The policy or owners file cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceLevel(_Strict):
    first_response: str = Field(description="Time to the first response by a person.")
    resolution: str = Field(description="Time to resolution (or to the reply / evaluation).")

    @field_validator("first_response", "resolution")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class CalendarPolicy(_Strict):
    timezone: str = Field("UTC", description="IANA time zone of the working hours.")
    working_days: list[Literal[WEEKDAYS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(WEEKDAYS[:5]), description="Days that have working hours."
    )
    start: time = Field(time(9), description="When the working day starts (local time).")
    end: time = Field(time(17), description="When the working day ends (local time).")
    holidays: list[date] = Field(default_factory=list, description="Dates without work.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone like Europe/Berlin") from None
        return value

    def build(self) -> BusinessCalendar:
        return BusinessCalendar(
            tz=ZoneInfo(self.timezone),
            working_days=frozenset(WEEKDAYS.index(d) for d in self.working_days),
            start=self.start,
            end=self.end,
            holidays=frozenset(self.holidays),
        )


class PriorityRule(_Strict):
    """Conditions that must all hold for the rule to set `priority`."""

    priority: Priority
    words: list[str] = Field(default_factory=list, description="Any of these in the text.")
    reasons: list[str] = Field(default_factory=list, description="Any of these reason codes.")
    min_readers: int | None = Field(None, ge=1, description="Distinct readers in the window.")
    window_hours: int = Field(24, ge=1, le=24 * 90, description="The window for min_readers.")
    min_page_weight: int | None = Field(None, description="The page weighs at least this.")
    default_version: bool | None = Field(None, description="Only on the default version.")
    categories: list[Category] = Field(default_factory=list, description="Only these classes.")

    @field_validator("words")
    @classmethod
    def _lower(cls, words: list[str]) -> list[str]:
        return [w.lower() for w in words if w.strip()]


DEFAULT_SLA = {
    "urgent": ServiceLevel(first_response="15m", resolution="2h"),
    "important": ServiceLevel(first_response="1h", resolution="24h"),
    "normal": ServiceLevel(first_response="4h", resolution="72h"),
    "suggestion": ServiceLevel(first_response="24h", resolution="1w"),
    "request": ServiceLevel(first_response="48h", resolution="2w"),
}

DEFAULT_KEYWORDS = {
    "complaint": ["unacceptable", "terrible", "waste of time", "complain", "投诉", "太差", "垃圾"],
    "request": [
        "please add",
        "feature request",
        "would like",
        "could you add",
        "需求",
        "希望增加",
        "请增加",
        "请添加",
    ],
    "suggestion": ["suggest", "would be better", "consider", "建议", "最好"],
    "problem": [
        "error",
        "broken",
        "doesn't work",
        "does not work",
        "wrong",
        "fails",
        "错误",
        "报错",
        "无法",
        "不能",
        "问题",
    ],
    "praise": ["thank", "great", "excellent", "love", "谢谢", "感谢", "很好", "清楚"],
}

DEFAULT_REASON_CATEGORIES = {
    "inaccurate": "problem",
    "broken_example": "problem",
    "outdated": "problem",
    "missing_information": "request",
    "hard_to_follow": "suggestion",
}

SIGNAL_WORDS = [
    "security",
    "vulnerability",
    "data loss",
    "lost data",
    "leak",
    "安全",
    "漏洞",
    "数据丢失",
    "泄露",
]

DEFAULT_RULES = [
    # A signal word makes a report urgent, but not in praise: a "helpful" rating whose comment
    # merely names a word (anyone can send one) must not page staff on a 15-minute clock.
    PriorityRule(
        priority="urgent",
        words=SIGNAL_WORDS,
        categories=[c for c in CATEGORIES if c != "praise"],
    ),
    PriorityRule(
        priority="urgent", min_readers=5, window_hours=24, min_page_weight=2, default_version=True
    ),
    PriorityRule(priority="important", min_readers=5, window_hours=24),
    PriorityRule(
        priority="important",
        reasons=["inaccurate", "broken_example"],
        default_version=True,
        categories=["problem", "complaint"],
    ),
    PriorityRule(
        priority="important",
        min_readers=3,
        window_hours=24,
        min_page_weight=2,
        default_version=True,
    ),
]


class TriagePolicy(_Strict):
    """Everything that turns feedback into prioritised, SLA-timed work."""

    sla: dict[Priority, ServiceLevel] = Field(
        default_factory=lambda: dict(DEFAULT_SLA),
        description="First-response and resolution times per priority: a number and a unit, "
        "`m` minutes, `h` hours, `d` days, `w` weeks (working days and weeks on a calendar).",
    )
    warn_fraction: float = Field(
        0.75, gt=0, lt=1, description="Share of the time after which the owner is warned."
    )
    calendar: CalendarPolicy | None = Field(
        None,
        description="Working hours the SLA counts (time zone, working days, start, end, "
        "holidays). Unset: calendar hours, every hour counts.",
    )
    reason_categories: dict[str, Category] = Field(
        default_factory=lambda: dict(DEFAULT_REASON_CATEGORIES),
        description="Reader's reason code to feedback class; the first reason that has one "
        "decides the class.",
    )
    keywords: dict[Category, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_KEYWORDS.items()},
        description="Words (English, Chinese, any language) that decide the class when no "
        "reason does; classes are tried in the order complaint, request, suggestion, problem, "
        "praise.",
    )
    key_pages: list[str] = Field(
        default_factory=lambda: ["quickstart", "install", "getting-started"],
        description="URL fragments of pages that weigh 2 when their front matter has no "
        "`priority:` (the home page weighs 2 too; every other page 1).",
    )
    rules: list[PriorityRule] = Field(
        default_factory=lambda: list(DEFAULT_RULES),
        description="Priority rules; the highest priority among the rules that match wins, "
        "else `category_priority`.",
    )
    category_priority: dict[Category, Priority] = Field(
        default_factory=lambda: {
            "problem": "normal",
            "complaint": "normal",
            "suggestion": "suggestion",
            "request": "request",
            "praise": "suggestion",
        },
        description="The priority of a task no rule matched, by its class.",
    )
    close_after_days: int = Field(
        14,
        ge=1,
        description="Days after which the sweep closes a resolved, won't-fix or "
        "duplicate task (its readers' addresses are then deleted once they were told).",
    )

    @field_validator("sla")
    @classmethod
    def _every_priority(cls, sla: dict) -> dict:
        missing = [p for p in PRIORITIES if p not in sla]
        return {**{p: DEFAULT_SLA[p] for p in missing}, **sla}

    def business_calendar(self) -> BusinessCalendar | None:
        return self.calendar.build() if self.calendar else None

    def windows(self) -> set[int]:
        """The reader-count windows (hours) the rules ask about."""
        return {r.window_hours for r in self.rules if r.min_readers}

    def reader_limits(self) -> dict[int, int]:
        """Per window (hours), the most readers a rule there asks for: counting past that
        changes no rule's outcome."""
        limits: dict[int, int] = {}
        for rule in self.rules:
            if rule.min_readers:
                limits[rule.window_hours] = max(limits.get(rule.window_hours, 0), rule.min_readers)
        return limits


class OwnerRule(_Strict):
    pattern: str = Field(description="A glob on the page URL, like `reference/*`.")
    team: str = Field(min_length=1, max_length=64, description="The team that owns them.")


def _read_yaml(path: Path, what: str):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{what} {path} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{what} {path} is not valid YAML: {exc}") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())


def load_policy(path: Path | None) -> TriagePolicy:
    if path is None:
        return TriagePolicy()
    data = _read_yaml(path, "The triage policy") or {}
    try:
        return TriagePolicy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"The triage policy {path} is not valid: {_problems(exc)}") from None


def load_owners(path: Path | None) -> list[OwnerRule]:
    if path is None or not path.exists():
        return []
    data = _read_yaml(path, "The owners file") or []
    if not isinstance(data, list):
        raise PolicyError(f"The owners file {path} must be a list of {{pattern, team}}.")
    try:
        return [OwnerRule.model_validate(item) for item in data]
    except ValidationError as exc:
        raise PolicyError(f"The owners file {path} is not valid: {_problems(exc)}") from None


def render_policy_reference() -> str:
    """The policy file's keys and the default service levels, as Markdown tables: what a
    page's `<!-- tideway:triage-reference -->` becomes (an entry point of this package)."""
    out = ["| Key | Default | Meaning |", "|---|---|---|"]
    defaults = TriagePolicy()
    for name, field in TriagePolicy.model_fields.items():
        value = getattr(defaults, name)
        shown = "(see below)" if isinstance(value, dict | list) else f"`{value}`"
        out.append(f"| `{name}` | {shown} | {field.description or ''} |")
    out += [
        "",
        "Default service levels:",
        "",
        "| Priority | First response within | Resolved within |",
        "|---|---|---|",
    ]
    for priority, level in defaults.sla.items():
        out.append(f"| `{priority}` | {level.first_response} | {level.resolution} |")
    out += ["", "Calendar keys (`calendar:`):", "", "| Key | Default | Meaning |", "|---|---|---|"]
    for name, field in CalendarPolicy.model_fields.items():
        default = field.get_default(call_default_factory=True)
        out.append(f"| `{name}` | `{default}` | {field.description} |")
    out += [
        "",
        "Priority rule keys (each item of `rules:`; all given conditions must hold):",
        "",
        "| Key | Meaning |",
        "|---|---|",
    ]
    for name, field in PriorityRule.model_fields.items():
        out.append(f"| `{name}` | {field.description or 'The priority the rule sets.'} |")
    out += ["", "Default rules, in order:", "", "| Priority | Conditions |", "|---|---|"]
    for rule in defaults.rules:
        conditions = rule.model_dump(exclude={"priority"}, exclude_defaults=True)
        if rule.min_readers:
            conditions["window_hours"] = rule.window_hours
        shown = ", ".join(f"`{k}`: {v}" for k, v in conditions.items())
        out.append(f"| `{rule.priority}` | {shown} |")
    out += ["", "Default keywords by class:", "", "| Class | Words |", "|---|---|"]
    for category, words in defaults.keywords.items():
        out.append(f"| `{category}` | {', '.join(words)} |")
    out += ["", "Default reason classes:", "", "| Reason | Class |", "|---|---|"]
    for reason, category in defaults.reason_categories.items():
        out.append(f"| `{reason}` | `{category}` |")
    return "\n".join(out) + "\n"
