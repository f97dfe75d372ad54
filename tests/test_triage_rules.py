"""Triage as pure functions: what makes work, class, priority, routing, the state machine."""

from __future__ import annotations

import pytest

from feedback_api.review.core.policy import OwnerRule, PolicyError, TriagePolicy, load_policy
from feedback_api.review.core.triage import (
    IllegalTransition,
    Member,
    PageFacts,
    TaskFacts,
    allowed_targets,
    categorise,
    decide_priority,
    makes_work,
    next_state,
    page_weight,
    pick_member,
    route_team,
)

POLICY = TriagePolicy()


@pytest.mark.parametrize(
    ("rating", "comment", "selection", "expected"),
    [
        (0, None, None, True),
        (1, None, None, False),
        (1, "Great page", None, True),
        (1, None, "a passage", True),
        (0, "wrong", "x", True),
    ],
)
def test_which_feedback_makes_work(rating, comment, selection, expected):
    assert makes_work(rating, comment, selection) is expected


@pytest.mark.parametrize(
    ("rating", "reasons", "text", "category"),
    [
        (0, ["inaccurate"], "", "problem"),
        (0, ["hard_to_follow"], "", "suggestion"),
        (0, ["missing_information"], "", "request"),
        (0, ["other", "broken_example"], "", "problem"),  # the first reason that has a class
        (0, [], "This is unacceptable, a waste of time", "complaint"),
        (0, [], "Please add an example for PostgreSQL", "request"),
        (0, [], "I suggest splitting this page", "suggestion"),
        (0, [], "The command fails with an error", "problem"),
        (1, [], "Thanks, very clear!", "praise"),
        (0, [], "服务太差了，我要投诉", "complaint"),
        (0, [], "希望增加一个 Windows 的安装示例", "request"),
        (0, [], "建议把配置放在前面", "suggestion"),
        (0, [], "按步骤执行后报错", "problem"),
        (1, [], "写得很好，谢谢", "praise"),
        (0, [], "", "problem"),  # the default by rating
        (1, ["easy_to_understand"], "", "praise"),
    ],
)
def test_categories(rating, reasons, text, category):
    assert categorise(POLICY, rating, reasons, text)[0] == category


def facts(**overrides) -> TaskFacts:
    values = {
        "page": PageFacts(url="reference/api/", title="Feedback API"),
        "version_label": "latest",
        "is_default_version": True,
        "category": "problem",
        "reasons": frozenset(),
        "text": "",
        "readers_within": {24: 1},
    }
    values.update(overrides)
    return TaskFacts(**values)


QUICKSTART = PageFacts(url="quickstart/", title="Quickstart")


@pytest.mark.parametrize(
    ("case", "priority", "rule"),
    [
        (facts(), "normal", "normal: default for a problem"),
        (facts(category="suggestion"), "suggestion", "suggestion: default for a suggestion"),
        (facts(category="request"), "request", "request: default for a request"),
        (facts(page=QUICKSTART, readers_within={24: 5}), "urgent",
         "urgent: 5 readers in 24 h on the quickstart of latest"),
        # Five readers on an ordinary page, or on an old version: important, not urgent.
        (facts(readers_within={24: 5}), "important", "important: 5 readers in 24 h"),
        (facts(page=QUICKSTART, readers_within={24: 6}, is_default_version=False,
               version_label="0.0.9"), "important", "important: 6 readers in 24 h"),
        (facts(text="This leaks your API key: a security problem"), "urgent",
         "urgent: signal word “security”"),
        (facts(text="升级后数据丢失"), "urgent", "urgent: signal word “数据丢失”"),
        # Praise that names a signal word pages nobody (anyone can send a "helpful" rating).
        (facts(category="praise", text="great page, no security issue"), "suggestion",
         "suggestion: default for a praise"),
        (facts(reasons=frozenset({"inaccurate"})), "important",
         "important: reason inaccurate of latest"),
        # An inaccurate page outranks a hard-to-follow one.
        (facts(reasons=frozenset({"hard_to_follow"})), "normal", "normal: default for a problem"),
        (facts(page=QUICKSTART, readers_within={24: 3}), "important",
         "important: 3 readers in 24 h on the quickstart of latest"),
    ],
)  # fmt: skip
def test_priority_rules(case, priority, rule):
    assert decide_priority(POLICY, case) == (priority, rule)


def test_rules_come_from_the_policy_file(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text(
        "rules:\n  - priority: urgent\n    words: [outage]\n"
        "sla:\n  urgent: {first_response: 5m, resolution: 1h}\n"
    )
    policy = load_policy(path)
    assert decide_priority(policy, facts(text="an OUTAGE")) == (
        "urgent",
        "urgent: signal word “outage”",
    )
    assert decide_priority(policy, facts(text="security")) == (
        "normal",
        "normal: default for a problem",
    )
    assert policy.sla["urgent"].first_response == "5m"
    assert policy.sla["normal"].first_response == "4h"  # unspecified lines keep the default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sla:\n  urgent: {first_response: soon, resolution: 1h}\n", "sla.urgent"),
        ("rules:\n  - priority: urgentest\n", "rules.0.priority"),
        ("calendar:\n  timezone: Mars/Olympus\n", "calendar.timezone"),
        ("colour: blue\n", "colour"),
        ("rules: [", "not valid YAML"),
    ],
)
def test_a_bad_policy_names_the_key(tmp_path, text, message):
    path = tmp_path / "policy.yml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message.replace(".", r"\.")):
        load_policy(path)


@pytest.mark.parametrize(
    ("page", "weight"),
    [
        (PageFacts(url=""), 2),
        (PageFacts(url="quickstart/"), 2),
        (PageFacts(url="guides/install/"), 2),
        (PageFacts(url="reference/api/"), 1),
        (PageFacts(url="reference/api/", priority="high"), 2),
        (PageFacts(url="quickstart/", priority="low"), 0),
        (PageFacts(url="faq/", priority=3), 3),
        (PageFacts(url="faq/", priority="3"), 3),
        (PageFacts(url="faq/", priority="High"), 2),
        (PageFacts(url="faq/", priority="whenever"), 1),
    ],
)
def test_page_weight(page, weight):
    assert page_weight(POLICY, page) == weight


MEMBERS = [
    Member(1, "ana", "docs-team", 1, 4),
    Member(2, "bo", "docs-team", 1, 2),
    Member(3, "chen", "docs-team", 2, 0),
    Member(4, "dee", "platform-team", 1, 0),
    Member(5, "eli", "docs-team", 1, 2),
]
OWNERS = [OwnerRule(pattern="reference/*", team="platform-team")]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (PageFacts(url="quickstart/", owner="platform-team"),
         ("platform-team", None, "front matter owner platform-team")),
        (PageFacts(url="quickstart/", owner="chen"), ("docs-team", 3, "front matter owner chen")),
        (PageFacts(url="reference/api/"), ("platform-team", None, "owners.yml reference/*")),
        (PageFacts(url="faq/"), ("docs-team", None, "default team")),
    ],
)  # fmt: skip
def test_routing(page, expected):
    assert route_team(page, OWNERS, "docs-team", MEMBERS) == expected


def test_the_member_with_the_fewest_open_tasks_at_the_tier_gets_it():
    assert pick_member(MEMBERS, "docs-team", 1).name == "bo"  # 2 open, lower id than eli
    assert pick_member(MEMBERS, "docs-team", 2).name == "chen"
    assert pick_member(MEMBERS, "docs-team", 3) is None
    assert pick_member(MEMBERS, "platform-team", 2) is None
    assert pick_member(MEMBERS, "nobody", 1) is None


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        ("new", "triage", "triaged"),
        ("new", "start", "in_progress"),
        ("triaged", "start", "in_progress"),
        ("in_progress", "stop", "triaged"),
        ("new", "resolve", "resolved"),
        ("in_progress", "resolve", "resolved"),
        ("in_progress", "wont_fix", "wont_fix"),
        ("triaged", "duplicate", "duplicate"),
        ("resolved", "close", "closed"),
        ("wont_fix", "close", "closed"),
        ("duplicate", "close", "closed"),
        ("resolved", "reopen", "triaged"),
        ("wont_fix", "reopen", "triaged"),
    ],
)
def test_legal_transitions(state, action, after):
    assert next_state(state, action) == after


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("closed", "reopen"),
        ("closed", "resolve"),
        ("resolved", "start"),
        ("new", "close"),
        ("triaged", "triage"),
        ("duplicate", "reopen"),
        ("new", "fly"),
    ],
)
def test_illegal_transitions(state, action):
    with pytest.raises(IllegalTransition, match=f"is {state} cannot {action}"):
        next_state(state, action)


def test_allowed_targets_leave_duplicate_to_merging():
    assert allowed_targets("new") == {
        "triaged": "triage",
        "in_progress": "start",
        "resolved": "resolve",
        "wont_fix": "wont_fix",
    }
    assert allowed_targets("closed") == {}
