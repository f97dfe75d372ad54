"""Triage: which feedback makes work, its class, the task's priority, owner and lifecycle.

Pure functions over plain data: no Flask, no SQL. `tasks.py` gathers the facts from the
store and calls these; tests call them directly with tables of cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase

from .policy import PRIORITIES, OwnerRule, PriorityRule, TriagePolicy
from .sla import Deadlines, deadlines, parse_duration

# The one list of task states: the API schema, the queries and the dashboard use these.
OPEN_STATES = ("new", "triaged", "in_progress")
FINISHED_STATES = ("resolved", "wont_fix", "duplicate")  # done, but not yet closed
STATES = (*OPEN_STATES, *FINISHED_STATES, "closed")
KEYWORD_ORDER = ("complaint", "request", "suggestion", "problem", "praise")
MAX_TIER = 3

# (state, action) -> next state. `duplicate` is reached only by merging (tasks.merge).
TRANSITIONS: dict[tuple[str, str], str] = {
    ("new", "triage"): "triaged",
    ("new", "start"): "in_progress",
    ("triaged", "start"): "in_progress",
    ("in_progress", "stop"): "triaged",
    **{(s, "resolve"): "resolved" for s in OPEN_STATES},
    **{(s, "wont_fix"): "wont_fix" for s in OPEN_STATES},
    **{(s, "duplicate"): "duplicate" for s in OPEN_STATES},
    **{(s, "close"): "closed" for s in FINISHED_STATES},
    ("resolved", "reopen"): "triaged",
    ("wont_fix", "reopen"): "triaged",
}
ACTIONS = tuple(sorted({action for _, action in TRANSITIONS}))


class IllegalTransition(ValueError):
    """The action is not allowed from the task's state (the API answers 409)."""


def next_state(current: str, action: str) -> str:
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        allowed = sorted(a for (s, a) in TRANSITIONS if s == current)
        hint = f"; from {current} you can {', '.join(allowed)}" if allowed else ""
        raise IllegalTransition(f"A task that is {current} cannot {action}{hint}.") from None


def is_open(state: str) -> bool:
    return state in OPEN_STATES


def open_key(page: str, version: str) -> str:
    """The dedup key: one open task per page and version."""
    return f"{version}\n{page}"


def makes_work(rating: int, comment: str | None, selection: str | None) -> bool:
    """A not-helpful rating, or anything a reader wrote or selected, asks for a person."""
    return rating == 0 or bool(comment) or bool(selection)


def priority_rank(priority: str) -> int:
    """0 is the most pressing."""
    return PRIORITIES.index(priority)


# -- class -----------------------------------------------------------------------------------


def categorise(
    policy: TriagePolicy, rating: int, reasons: Sequence[str], text: str
) -> tuple[str, str]:
    """The feedback's class and why: the reader's reasons, then keywords, then the rating."""
    for reason in reasons:
        if reason in policy.reason_categories:
            return policy.reason_categories[reason], f"reason {reason}"
    lowered = text.lower()
    for category in KEYWORD_ORDER:
        for word in policy.keywords.get(category, []):
            if word.lower() in lowered:
                return category, f"word “{word}”"
    return ("problem" if rating == 0 else "praise"), "the rating"


# -- priority --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageFacts:
    """What routing and weighting need to know about a page of a version."""

    url: str
    title: str = ""
    owner: str = ""
    priority: str | int | None = None  # front matter `priority:`, when the manifest has it


@dataclass(frozen=True)
class TaskFacts:
    """What the priority rules look at for one task, at the moment feedback arrives."""

    page: PageFacts
    version_label: str  # the alias readers see (`latest`), else the version's name
    is_default_version: bool
    category: str
    reasons: frozenset[str] = frozenset()
    text: str = ""
    readers_within: dict[int, int] = field(default_factory=dict)  # window hours -> readers


_WEIGHT_WORDS = {"high": 2, "normal": 1, "low": 0}


def page_weight(policy: TriagePolicy, page: PageFacts) -> int:
    """2 for a page that matters more, 1 for most, 0 for a page marked low."""
    if isinstance(page.priority, int) and not isinstance(page.priority, bool):
        return page.priority
    if isinstance(page.priority, str):
        word = page.priority.strip().lower()
        if word in _WEIGHT_WORDS:
            return _WEIGHT_WORDS[word]
        if word.isdigit():  # a number read back from the page's HTML stamp
            return int(word)
    if page.url == "" or any(fragment in page.url for fragment in policy.key_pages):
        return 2
    return 1


def page_name(url: str) -> str:
    """How a rule names a page: its last path segment (`quickstart`), or `home page`."""
    return url.rstrip("/").rsplit("/", 1)[-1] or "home page"


def _rule_matches(rule: PriorityRule, facts: TaskFacts, weight: int) -> str | None:
    """A description of why the rule holds, or None when it does not."""
    parts: list[str] = []
    if rule.categories and facts.category not in rule.categories:
        return None
    if rule.words:
        text = facts.text.lower()
        word = next((w for w in rule.words if w in text), None)
        if word is None:
            return None
        parts.append(f"signal word “{word}”")
    if rule.reasons:
        reason = next((r for r in rule.reasons if r in facts.reasons), None)
        if reason is None:
            return None
        parts.append(f"reason {reason}")
    if rule.min_readers:
        readers = facts.readers_within.get(rule.window_hours, 0)
        if readers < rule.min_readers:
            return None
        parts.append(f"{readers} readers in {rule.window_hours} h")
    where = ""
    if rule.min_page_weight is not None:
        if weight < rule.min_page_weight:
            return None
        where += f" on the {page_name(facts.page.url)}"
    if rule.default_version is not None:
        if facts.is_default_version != rule.default_version:
            return None
        where += f" of {facts.version_label}"
    return (", ".join(parts) + where).strip()


def decide_priority(policy: TriagePolicy, facts: TaskFacts) -> tuple[str, str]:
    """The priority and the rule that set it, shown to reviewers as one line."""
    weight = page_weight(policy, facts.page)
    best: tuple[str, str] | None = None
    for rule in policy.rules:
        why = _rule_matches(rule, facts, weight)
        if why is None:
            continue
        if best is None or priority_rank(rule.priority) < priority_rank(best[0]):
            best = (rule.priority, f"{rule.priority}: {why}")
    if best is not None:
        return best
    priority = policy.category_priority.get(facts.category, "normal")
    return priority, f"{priority}: default for a {facts.category}"


def due_at(
    state: str,
    *,
    first_responded_at: datetime | None,
    first_response_due: datetime,
    resolution_due: datetime,
) -> datetime | None:
    """The deadline that matters now, which the queue sorts on: the first response's while
    nobody has responded, then the resolution's; none once the task is no longer open."""
    if not is_open(state):
        return None
    return first_response_due if first_responded_at is None else resolution_due


def task_deadlines(policy: TriagePolicy, priority: str, start: datetime) -> Deadlines:
    calendar = policy.business_calendar()
    level = policy.sla[priority]
    return deadlines(
        start,
        parse_duration(level.first_response, calendar),
        parse_duration(level.resolution, calendar),
        calendar,
        policy.warn_fraction,
    )


# -- routing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    team: str
    tier: int
    open_tasks: int


def route_team(
    page: PageFacts, owners: Iterable[OwnerRule], default_team: str, members: Iterable[Member]
) -> tuple[str, int | None, str]:
    """(team, owner user id or None, why). Front matter first, then owners.yml, then default.

    A front-matter `owner:` that names a reviewer makes that person the owner; otherwise it
    names a team.
    """
    if page.owner:
        for member in members:
            if member.name == page.owner:
                return member.team, member.id, f"front matter owner {page.owner}"
        return page.owner, None, f"front matter owner {page.owner}"
    for rule in owners:
        if fnmatchcase(page.url, rule.pattern):
            return rule.team, None, f"owners.yml {rule.pattern}"
    return default_team, None, "default team"


def pick_member(members: Iterable[Member], team: str, tier: int) -> Member | None:
    """The team's member at the task's tier with the fewest open tasks (then the lowest id).

    No one at that tier: the nearest tier above, so escalated work still finds a person.
    """
    in_team = [m for m in members if m.team == team]
    for candidate_tier in range(tier, MAX_TIER + 1):
        at_tier = [m for m in in_team if m.tier == candidate_tier]
        if at_tier:
            return min(at_tier, key=lambda m: (m.open_tasks, m.id))
    return None


def escalated_tier(tier: int) -> int:
    return min(tier + 1, MAX_TIER)


def allowed_targets(state: str) -> dict[str, str]:
    """The states a person can move a task to from `state`, each with its action.

    `duplicate` is left out: a task becomes one by being merged.
    """
    return {
        target: action
        for (current, action), target in TRANSITIONS.items()
        if current == state and action != "duplicate"
    }
