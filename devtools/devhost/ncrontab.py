"""NCRONTAB schedules as the Functions timer trigger reads them (NCrontab library semantics).

Six fields ``{second} {minute} {hour} {day} {month} {day-of-week}``; a five-field
expression has no seconds (second = 0). Day-of-week is 0-6 (0 = Sunday) or English names /
three-letter abbreviations; months accept names too. Unlike Vixie cron, NCrontab requires
day-of-month AND day-of-week to match. ``%SETTING%`` is resolved from app settings first.
All times are UTC (Flex Consumption has no WEBSITE_TIME_ZONE).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from devtools.devhost.settings import SettingsError, resolve_setting_references

_DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
# (name, low, high, names mapped to numbers)
_FIELDS = [
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day", 1, 31, {}),
    ("month", 1, 12, {**{m: i + 1 for i, m in enumerate(_MONTHS)}, **{m[:3]: i + 1 for i, m in enumerate(_MONTHS)}}),
    ("day-of-week", 0, 6, {**{d: i for i, d in enumerate(_DAYS)}, **{d[:3]: i for i, d in enumerate(_DAYS)}}),
]


class CronError(ValueError):
    """The schedule is not a valid NCRONTAB expression."""


def resolve_settings(text: str, settings: Mapping[str, str] | None = None) -> str:
    try:
        return resolve_setting_references(text, settings)
    except SettingsError as exc:
        raise CronError(str(exc)) from None


def _value(token: str, low: int, high: int, names: dict, field: str) -> int:
    token = token.strip().lower()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise CronError(f"{field} field: {token!r} is not a number" + (" or a name" if names else ""))
    number = int(token)
    if not low <= number <= high:
        raise CronError(f"{field} field: {number} is outside {low}-{high}")
    return number


def _parse_field(text: str, low: int, high: int, names: dict, field: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{field} field: empty list item in {text!r}")
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{field} field: step {step_text!r} must be a positive number")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, low, high, names, field), _value(b, low, high, names, field)
            if start > end:
                raise CronError(f"{field} field: range {part!r} runs backwards")
        else:
            start = _value(part, low, high, names, field)
            end = high if step > 1 else start  # "5/15" means 5, 20, 35, 50
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    has_seconds: bool

    @classmethod
    def parse(cls, expression: str, settings: Mapping[str, str] | None = None) -> CronSchedule:
        resolved = resolve_settings(expression, settings)
        parts = resolved.split()
        if len(parts) == 5:
            parts = ["0", *parts]
            has_seconds = False
        elif len(parts) == 6:
            has_seconds = True
        else:
            raise CronError(f"{resolved!r} has {len(parts)} fields; NCRONTAB needs 6 "
                            "({second} {minute} {hour} {day} {month} {day-of-week}) or 5 (no seconds)")
        try:
            sets = [_parse_field(p, lo, hi, names, f) for p, (f, lo, hi, names) in zip(parts, _FIELDS, strict=True)]
        except CronError as exc:
            raise CronError(f"{resolved!r}: {exc}") from None
        return cls(resolved, *sets, has_seconds=has_seconds)

    @property
    def fields(self) -> list[str]:
        parts = self.expression.split()
        return parts if len(parts) == 6 else ["0", *parts]

    def _day_matches(self, d: datetime) -> bool:
        return d.day in self.days and (d.isoweekday() % 7) in self.weekdays

    def next_after(self, after: datetime) -> datetime:
        """The first occurrence strictly after ``after`` (UTC; naive values are taken as UTC)."""
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        t = after.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = t.year + 30
        while t.year <= limit:
            if t.month not in self.months:
                t = _next_month(t)
                continue
            if not self._day_matches(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
                continue
            if t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0, second=0)
                continue
            if t.minute not in self.minutes:
                t = (t + timedelta(minutes=1)).replace(second=0)
                continue
            if t.second not in self.seconds:
                t += timedelta(seconds=1)
                continue
            return t
        raise CronError(f"{self.expression!r} never fires (no matching date)")

    def occurrences(self, after: datetime, count: int) -> list[datetime]:
        out = []
        for _ in range(count):
            after = self.next_after(after)
            out.append(after)
        return out

    def monitor_allowed(self, now: datetime) -> bool:
        """The host turns useMonitor off for schedules firing more than once a minute, i.e.
        when every field above seconds is ``*`` and two occurrences are < 1 minute apart."""
        if any(f != "*" for f in self.fields[1:]):
            return True
        first, second = self.occurrences(now, 2)
        return (second - first) >= timedelta(minutes=1)


def _next_month(t: datetime) -> datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
