"""RoomCal's analytics definitions, exactly (docs/analytics.md says the same in prose).

* **Available time** of a room on a local calendar day: the tenant's office hours for that weekday, as wall-clock
  times in the room's time zone, turned into UTC instants, so a daylight-saving day has its true length. None on a
  weekday without office hours or on a tenant holiday (listed dates plus, optionally, a country's public holidays).
* **Booked time**: the union of the room's bookings that count (not cancelled, not declined by the room, not a
  series master) clipped to available time; overlaps count once; an all-day booking covers the whole available
  time of each day it spans (its days are the dates in its own time zone).
* **Meetings** are counted once, on the room-local day they start (an all-day booking on its first day).
* **Lead time** = start - created. Ad hoc when below the tenant's threshold (default 15 min); buckets below.
* **Meeting size** = distinct people invited: attendees that are not rooms or resources, plus the organiser,
  deduplicated by address; the room itself never counts.
* **Organiser group**: the organiser's e-mail domain (always) and department (only when directory reads are on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from shared.models import WEEKDAYS, RoomEvent, TenantSettings

Interval = tuple[datetime, datetime]  # [start, end) in UTC

LEAD_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("< 15 min", timedelta(minutes=15)),
    ("15 min - 1 h", timedelta(hours=1)),
    ("1 h - 1 day", timedelta(days=1)),
    ("1 day - 1 week", timedelta(weeks=1)),
    (">= 1 week", None),
)
LEAD_BUCKET_NAMES = tuple(name for name, _ in LEAD_BUCKETS)
UNKNOWN_LEAD_BUCKET = ">= 1 week"  # an event without createdDateTime counts as planned, in the last bucket


@dataclass(frozen=True)
class Rules:
    """The tenant settings the definitions depend on; changing any of them needs a rebuild."""

    office_hours: Mapping[int, tuple[time, time]]  # weekday (Mon=0) -> (start, end), local wall clock
    holidays: frozenset[date] = frozenset()
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    adhoc_threshold: timedelta = timedelta(minutes=15)
    _country_years: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: TenantSettings) -> Rules:
        hours = {WEEKDAYS.index(day): (h.start, h.end) for day, h in settings.office_hours.items()}
        return cls(office_hours=hours, holidays=frozenset(getattr(settings, "holidays", ()) or ()),
                   holiday_country=getattr(settings, "holiday_country", None) or None,
                   holiday_subdivision=getattr(settings, "holiday_subdivision", None) or None,
                   adhoc_threshold=timedelta(minutes=settings.adhoc_threshold_minutes))

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or day in self._public_holidays(day.year)

    def _public_holidays(self, year: int):
        if not self.holiday_country:
            return ()
        if year not in self._country_years:
            import holidays  # a maintained library of public holidays per country (and subdivision)

            self._country_years[year] = holidays.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdivision, years=year)
        return self._country_years[year]


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on ``day`` in ``zone`` as UTC (a time skipped by DST resolves with the earlier offset)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: ZoneInfo) -> Interval:
    """The room-local calendar day [00:00, next 00:00) in UTC: 23, 24 or 25 hours long."""
    return local_instant(day, time(), zone), local_instant(day + timedelta(days=1), time(), zone)


def available(day: date, zone: ZoneInfo, rules: Rules) -> Interval | None:
    """Office hours of ``day`` in ``zone`` as one UTC interval, or None (no hours that weekday, or a holiday)."""
    hours = rules.office_hours.get(day.weekday())
    if hours is None or rules.is_holiday(day):
        return None
    start, end = local_instant(day, hours[0], zone), local_instant(day, hours[1], zone)
    return (start, end) if end > start else None


@lru_cache(maxsize=16384)
def _hour_starts(day: date, zone: ZoneInfo) -> tuple[datetime, ...]:
    return (*(local_instant(day, time(h), zone) for h in range(24)), day_bounds(day, zone)[1])


def hour_slices(day: date, zone: ZoneInfo) -> list[Interval]:
    """The 24 local wall-clock hours of ``day`` as UTC intervals (a skipped hour is empty, a repeated one 2 h)."""
    starts = _hour_starts(day, zone)
    return [(starts[h], max(starts[h], starts[h + 1])) for h in range(24)]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same instants; touching ones merge."""
    merged: list[list[datetime]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    lo, hi = window
    return [(max(s, lo), min(e, hi)) for s, e in intervals if s < hi and e > lo]


def seconds(intervals: Iterable[Interval]) -> int:
    return int(sum((e - s).total_seconds() for s, e in intervals))


def counts(event: RoomEvent) -> bool:
    """Whether a stored event is a booking of the room: not cancelled, not declined by it, not a series master."""
    return not event.is_cancelled and not event.declined_by_room and event.event_type != "seriesMaster"


def all_day_dates(event: RoomEvent, fallback: ZoneInfo) -> list[date]:
    """The calendar dates an all-day event covers, read in its own time zone (midnight to midnight there)."""
    zone = event_zone(event, fallback)
    first = event.start_utc.astimezone(zone).date()
    last_end = event.end_utc.astimezone(zone)
    last = last_end.date() if last_end.time() != time() else last_end.date() - timedelta(days=1)
    return [first + timedelta(days=k) for k in range(max(1, (last - first).days + 1))]


def event_zone(event: RoomEvent, fallback: ZoneInfo) -> ZoneInfo:
    from shared.errors import InvalidInput
    from shared.timezones import zone

    try:
        return zone(event.start_time_zone) if event.start_time_zone else fallback
    except InvalidInput:
        return fallback


def start_day(event: RoomEvent, room_zone: ZoneInfo) -> date:
    """The room-local day a meeting is counted on."""
    if event.is_all_day:
        return all_day_dates(event, room_zone)[0]
    return event.start_utc.astimezone(room_zone).date()


def lead_time(event: RoomEvent) -> timedelta | None:
    return None if event.created_utc is None else event.start_utc - event.created_utc


def lead_bucket(lead: timedelta | None) -> str:
    if lead is None:
        return UNKNOWN_LEAD_BUCKET
    for name, below in LEAD_BUCKETS:
        if below is None or lead < below:
            return name
    raise AssertionError("unreachable")


def is_ad_hoc(lead: timedelta | None, rules: Rules) -> bool:
    return lead is not None and lead < rules.adhoc_threshold


def meeting_size(event: RoomEvent) -> int:
    people = {a.address.lower() for a in event.attendees if a.type != "resource" and a.address}
    if event.organizer:
        people.add(event.organizer.lower())
    people.discard(event.room_email.lower())
    return max(1, len(people))


def organiser_domain(event: RoomEvent) -> str:
    address = (event.organizer or "").lower()
    return address.rsplit("@", 1)[1] if "@" in address else ""
