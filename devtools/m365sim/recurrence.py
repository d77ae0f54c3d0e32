"""Expansion of Graph patternedRecurrence (patternedrecurrence.md, recurrencepattern.md, recurrencerange.md)."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INDEX = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}


def _add_months(d: date, months: int) -> tuple[int, int]:
    m = d.month - 1 + months
    return d.year + m // 12, m % 12 + 1


def _nth_weekday(year: int, month: int, weekday: int, index: str) -> date | None:
    days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
    matching = [d for d in days if d.weekday() == weekday]
    i = INDEX.get(index, 0)
    return matching[i] if -len(matching) <= i < len(matching) else None


def _candidates(pattern: dict, start: date) -> Iterator[date]:
    kind = pattern["type"]
    interval = max(1, int(pattern.get("interval", 1)))
    weekdays = sorted(DAYS.index(d) for d in pattern.get("daysOfWeek") or [])
    if kind == "daily":
        d = start
        while True:
            yield d
            d += timedelta(days=interval)
    elif kind == "weekly":
        first = DAYS.index(pattern.get("firstDayOfWeek") or "sunday")
        week0 = start - timedelta(days=(start.weekday() - first) % 7)
        order = sorted(weekdays or [start.weekday()], key=lambda w: (w - first) % 7)
        k = 0
        while True:
            ws = week0 + timedelta(weeks=k * interval)
            for w in order:
                d = ws + timedelta(days=(w - first) % 7)
                if d >= start:
                    yield d
            k += 1
    elif kind in ("absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"):
        step = interval if kind.endswith("Monthly") else 12 * interval
        k = 0
        while True:
            y, m = _add_months(start.replace(day=1), k * step)
            if kind.endswith("Yearly"):
                m = int(pattern.get("month") or start.month)
            if kind.startswith("absolute"):
                dom = int(pattern.get("dayOfMonth") or start.day)
                if dom <= calendar.monthrange(y, m)[1]:
                    d = date(y, m, dom)
                    if d >= start:
                        yield d
            else:
                for w in weekdays or [start.weekday()]:
                    d = _nth_weekday(y, m, w, pattern.get("index") or "first")
                    if d and d >= start:
                        yield d
            k += 1
            if k > 12 * 200:
                return
    else:
        raise ValueError(f"unsupported recurrence pattern type {kind!r}")


def occurrence_dates(recurrence: dict, until: date) -> Iterator[date]:
    """Original start dates of a series, in order, up to and including ``until`` (and the range's end)."""
    rng = recurrence["range"]
    start = date.fromisoformat(rng["startDate"])
    end = date.fromisoformat(rng["endDate"]) if rng.get("type") == "endDate" and rng.get("endDate") else None
    count = int(rng.get("numberOfOccurrences") or 0) if rng.get("type") == "numbered" else 0
    for n, d in enumerate(_candidates(recurrence["pattern"], start)):
        if d > until or (end and d > end) or (count and n >= count):
            return
        yield d


def validate(recurrence: dict) -> None:
    pattern, rng = recurrence.get("pattern"), recurrence.get("range")
    if not isinstance(pattern, dict) or not isinstance(rng, dict):
        raise ValueError("recurrence needs 'pattern' and 'range'")
    if pattern.get("type") not in (
        "daily",
        "weekly",
        "absoluteMonthly",
        "relativeMonthly",
        "absoluteYearly",
        "relativeYearly",
    ):
        raise ValueError("recurrence.pattern.type is not a documented value")
    if rng.get("type") not in ("endDate", "noEnd", "numbered") or not rng.get("startDate"):
        raise ValueError("recurrence.range needs a documented type and a startDate")
    for d in pattern.get("daysOfWeek") or []:
        if d not in DAYS:
            raise ValueError(f"unknown day of week {d!r}")
