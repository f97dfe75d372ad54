"""SLA arithmetic as a pure function: calendar hours, business calendars, DST, holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from feedback_api.review.core.policy import TriagePolicy
from feedback_api.review.core.sla import (
    BusinessCalendar,
    add_working_time,
    deadlines,
    parse_duration,
)
from feedback_api.review.core.triage import task_deadlines

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar(BERLIN, frozenset(range(5)), time(9), time(17))
SHANGHAI_OFFICE = BusinessCalendar(
    SHANGHAI, frozenset(range(5)), time(9), time(18),
    holidays=frozenset({date(2026, 10, d) for d in range(1, 8)}),
)  # fmt: skip


def local(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "calendar", "expected"),
    [
        ("15m", None, timedelta(minutes=15)),
        ("2h", None, timedelta(hours=2)),
        ("3d", None, timedelta(days=3)),
        ("1w", None, timedelta(days=7)),
        ("2w", None, timedelta(days=14)),
        ("1d", OFFICE, timedelta(hours=8)),  # a working day
        ("1w", OFFICE, timedelta(hours=40)),  # a working week
        ("1w", SHANGHAI_OFFICE, timedelta(hours=45)),
    ],
)
def test_durations(text, calendar, expected):
    assert parse_duration(text, calendar) == expected


@pytest.mark.parametrize("text", ["", "15", "m", "1.5h", "-1h", "1y", "two hours"])
def test_durations_refused(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("start", "amount", "calendar", "expected"),
    [
        # Calendar hours: plain arithmetic, also across a DST change (it is real time).
        (local(UTC, 2026, 3, 28, 23, 0), timedelta(hours=4), None, local(UTC, 2026, 3, 29, 3)),
        # Inside one working day.
        (local(BERLIN, 2026, 11, 24, 10), timedelta(hours=4), OFFICE,
         local(BERLIN, 2026, 11, 24, 14)),
        # Runs past closing time: the rest counts from the next morning.
        (local(BERLIN, 2026, 11, 24, 16), timedelta(hours=4), OFFICE,
         local(BERLIN, 2026, 11, 25, 12)),
        # Submitted at night: the clock starts at opening time.
        (local(BERLIN, 2026, 11, 24, 22), timedelta(minutes=15), OFFICE,
         local(BERLIN, 2026, 11, 25, 9, 15)),
        # Friday afternoon: the weekend does not count.
        (local(BERLIN, 2026, 11, 27, 16), timedelta(hours=2), OFFICE,
         local(BERLIN, 2026, 11, 30, 10)),
        # Friday before the spring DST change (UTC+1 -> UTC+2): Monday 10:00 local time,
        # which is 08:00 UTC although Friday 16:00 was 15:00 UTC.
        (local(BERLIN, 2026, 3, 27, 16), timedelta(hours=2), OFFICE, local(UTC, 2026, 3, 30, 8)),
        # Friday before the autumn change (UTC+2 -> UTC+1).
        (local(BERLIN, 2026, 10, 23, 16), timedelta(hours=2), OFFICE, local(UTC, 2026, 10, 26, 9)),
        # Holidays (National Day week) are skipped like weekends.
        (local(SHANGHAI, 2026, 9, 30, 17), timedelta(hours=2), SHANGHAI_OFFICE,
         local(SHANGHAI, 2026, 10, 8, 10)),
        # A working week (5 x 9 h) from Monday morning ends on Friday at closing time.
        (local(SHANGHAI, 2026, 11, 23, 9), timedelta(hours=45), SHANGHAI_OFFICE,
         local(SHANGHAI, 2026, 11, 27, 18)),
    ],
)  # fmt: skip
def test_add_working_time(start, amount, calendar, expected):
    assert add_working_time(start, amount, calendar) == expected
    assert add_working_time(start, amount, calendar).tzinfo == UTC


def test_working_hours_across_the_night_of_a_dst_change_count_real_time():
    # Working hours 01:00-05:00 every day; on 29 March 2026 02:00 becomes 03:00 in Berlin,
    # so that day has three real working hours, and the fourth hour lands on the next day.
    night = BusinessCalendar(BERLIN, frozenset(range(7)), time(1), time(5))
    start = local(BERLIN, 2026, 3, 29, 1)
    assert add_working_time(start, timedelta(hours=3), night) == local(BERLIN, 2026, 3, 29, 5)
    assert add_working_time(start, timedelta(hours=4), night) == local(BERLIN, 2026, 3, 30, 2)


def test_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        add_working_time(datetime(2026, 1, 1), timedelta(hours=1))


def test_a_calendar_without_working_days_is_refused():
    with pytest.raises(ValueError, match="working day"):
        BusinessCalendar(BERLIN, frozenset(), time(9), time(17))


def test_deadlines_and_warnings_at_three_quarters():
    start = local(UTC, 2026, 11, 24, 8)
    due = deadlines(start, timedelta(hours=4), timedelta(hours=72))
    assert due.first_response_due == local(UTC, 2026, 11, 24, 12)
    assert due.first_response_warn_at == local(UTC, 2026, 11, 24, 11)
    assert due.resolution_due == local(UTC, 2026, 11, 27, 8)
    assert due.resolution_warn_at == local(UTC, 2026, 11, 26, 14)


@pytest.mark.parametrize(
    ("priority", "response", "resolution"),
    [
        ("urgent", timedelta(minutes=15), timedelta(hours=2)),
        ("important", timedelta(hours=1), timedelta(hours=24)),
        ("normal", timedelta(hours=4), timedelta(hours=72)),
        ("suggestion", timedelta(hours=24), timedelta(weeks=1)),
        ("request", timedelta(hours=48), timedelta(weeks=2)),
    ],
)
def test_the_default_policy_is_the_seed_table(priority, response, resolution):
    start = local(UTC, 2026, 11, 24, 8)
    due = task_deadlines(TriagePolicy(), priority, start)
    assert due.first_response_due - start == response
    assert due.resolution_due - start == resolution


def test_a_policy_with_a_business_calendar():
    policy = TriagePolicy.model_validate(
        {
            "calendar": {
                "timezone": "Europe/Berlin",
                "start": "09:00",
                "end": "17:00",
                "holidays": ["2026-12-25"],
            }
        }  # fmt: skip
    )
    # Thursday 24 December, 16:30: half an hour left, then Christmas, then the weekend.
    due = task_deadlines(policy, "normal", local(BERLIN, 2026, 12, 24, 16, 30))
    assert due.first_response_due == local(BERLIN, 2026, 12, 28, 12, 30)
