"""The SLA clock: due times from a policy, in calendar hours or on a business calendar.

Pure functions over plain data (no Flask, no SQL). Arithmetic happens in UTC; the calendar's
time zone only decides where each working day begins and ends, so a daylight-saving change
shortens or lengthens that day's real working time instead of shifting deadlines by an hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1)}
# The longest walk through a calendar: ten years of days (a calendar with no working day
# at all is refused when it is built, so this only bounds pathological holiday lists).
_MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in one time zone: days of the week (0 = Monday), daily hours, holidays."""

    tz: ZoneInfo
    working_days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date] = frozenset()

    def __post_init__(self):
        if not self.working_days:
            raise ValueError("a business calendar needs at least one working day")
        if self.end <= self.start:
            raise ValueError("the working day must end after it starts")

    @property
    def day_length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays


@dataclass(frozen=True)
class Deadlines:
    first_response_due: datetime
    first_response_warn_at: datetime
    resolution_due: datetime
    resolution_warn_at: datetime


def parse_duration(text: str, calendar: BusinessCalendar | None = None) -> timedelta:
    """`15m`, `4h`, `3d`, `2w` as an amount of time to count on the clock.

    In calendar hours a day is 24 hours and a week 7 days. On a business calendar a day is
    one working day's hours and a week the calendar's working days, so `1w` means a working
    week, as a person reading the policy table would expect.
    """
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 15m, 4h, 3d or 2w")
    count, unit = int(match.group(1)), match.group(2)
    if unit in _UNITS:
        return count * _UNITS[unit]
    day = calendar.day_length if calendar else timedelta(days=1)
    days_per_week = len(calendar.working_days) if calendar else 7
    return count * day * (days_per_week if unit == "w" else 1)


def add_working_time(
    start: datetime, amount: timedelta, calendar: BusinessCalendar | None = None
) -> datetime:
    """The moment `amount` of working time after `start` (aware, answered in UTC)."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    start = start.astimezone(UTC)
    if calendar is None:
        return start + amount
    remaining = amount
    day = start.astimezone(calendar.tz).date()
    for _ in range(_MAX_DAYS):
        if calendar.is_working_day(day):
            opens = datetime.combine(day, calendar.start, tzinfo=calendar.tz).astimezone(UTC)
            closes = datetime.combine(day, calendar.end, tzinfo=calendar.tz).astimezone(UTC)
            begin = max(opens, start)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("no deadline within ten years on this calendar; check its holidays")


def deadlines(
    start: datetime,
    first_response: timedelta,
    resolution: timedelta,
    calendar: BusinessCalendar | None = None,
    warn_fraction: float = 0.75,
) -> Deadlines:
    """Due times for a task started at `start`, and the moments to warn (a fraction in)."""
    return Deadlines(
        first_response_due=add_working_time(start, first_response, calendar),
        first_response_warn_at=add_working_time(start, first_response * warn_fraction, calendar),
        resolution_due=add_working_time(start, resolution, calendar),
        resolution_warn_at=add_working_time(start, resolution * warn_fraction, calendar),
    )
