"""Sensor metrics per room and room-local day (docs/analytics.md, "With sensors"), on the analytics definitions.

Available time, booked time and which bookings count are ``shared.analytics.definitions``'; this module adds what
the sensor saw, minute by minute (``timeline.minute_states``). A minute counts as booked when a counted booking
overlaps it. Per day, inside available time:

- observed: minutes with data (occupied or vacant); the rest is *no data*, never vacant;
- occupied, booked-and-occupied (used), booked-observed-and-vacant (unused booked), occupied-and-unbooked;
- ad-hoc meet-ups: runs of occupied, unbooked minutes of at least ``meetup_minutes``.

Per meeting (a counted, timed booking, counted on the local day it starts, over its whole span):
attended (presence in some minute), no-show (every minute observed, none occupied), or no data; a release
candidate has every minute of its first ``grace`` minutes observed and none occupied; a late arrival was a release
candidate yet attended.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.analytics import definitions as d
from shared.models import RoomEvent
from shared.occupancy.timeline import MINUTE, NO_DATA, OCCUPIED, ceil_minute, floor_minute

_OCCUPIED_UNBOOKED = re.compile(rb"\x02+")
BOOKED = 3  # added to a minute's state: 3 booked no data, 4 booked vacant, 5 booked occupied


@dataclass(frozen=True)
class Meeting:
    """A counted, timed booking as the sensor saw it."""

    row_key: str
    series_key: str | None
    organizer: str | None
    start: datetime
    end: datetime
    status: str  # attended | no_show | no_data
    release_candidate: bool
    late: bool  # a release candidate where people came after the grace period


@dataclass(frozen=True)
class SensorDay:
    room: str
    day: date
    available_minutes: int = 0
    observed_minutes: int = 0
    occupied_minutes: int = 0
    booked_minutes: int = 0
    booked_observed_minutes: int = 0
    booked_used_minutes: int = 0
    booked_unused_minutes: int = 0
    unbooked_used_minutes: int = 0
    meetups: int = 0
    meetup_minutes: int = 0
    meetings: tuple[Meeting, ...] = field(default=())

    def count(self, status: str) -> int:
        return sum(m.status == status for m in self.meetings)

    @property
    def release_candidates(self) -> int:
        return sum(m.release_candidate for m in self.meetings)

    @property
    def late_arrivals(self) -> int:
        return sum(m.late for m in self.meetings)


def window_of(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC minutes the days [first, last] need: their local days, plus a day for meetings running on."""
    return d.day_bounds(first, zone)[0], d.day_bounds(last, zone)[1] + timedelta(days=1)


def compute_sensor_days(room: str, events: Iterable[RoomEvent], zone: ZoneInfo, first: date, last: date,
                        rules: d.Rules, states: bytes, origin: datetime, *, grace_minutes: int,
                        meetup_minutes: int) -> list[SensorDay]:
    """Every local day of [first, last] for one room; ``states`` (from ``origin``) covers ``window_of``."""
    counted = [e for e in events if d.counts(e)]
    booked = bytearray(len(states))
    for start, end in d.union(_booked_spans(counted, zone)):
        a, b = _index(origin, start, len(states)), _index(origin, ceil_minute(end), len(states))
        booked[a:b] = bytes((BOOKED,)) * (b - a)
    combined = bytes(map(operator.add, states, booked))
    starting: dict[date, list[RoomEvent]] = {}
    for event in counted:
        if not event.is_all_day:
            starting.setdefault(d.start_day(event, zone), []).append(event)
    out = []
    day = first
    while day <= last:
        out.append(_day(room, day, zone, rules, combined, states, origin, starting.get(day, []),
                        grace_minutes, meetup_minutes))
        day += timedelta(days=1)
    return out


def _booked_spans(events: list[RoomEvent], zone: ZoneInfo):
    for event in events:
        if event.is_all_day:
            for day in d.all_day_dates(event, zone):
                yield d.day_bounds(day, zone)
        else:
            yield event.start_utc, event.end_utc


def _index(origin: datetime, moment: datetime, n: int) -> int:
    return max(0, min(n, (floor_minute(moment) - origin) // MINUTE))


def _day(room, day, zone, rules, combined: bytes, states: bytes, origin, meetings, grace, meetup) -> SensorDay:
    sensed = tuple(_meeting(e, states, origin, grace) for e in sorted(meetings, key=lambda e: e.start_utc))
    window = d.available(day, zone, rules)
    if window is None:
        return SensorDay(room, day, meetings=sensed)
    n = len(states)
    a, b = _index(origin, window[0], n), _index(origin, ceil_minute(window[1]), n)
    part = combined[a:b]
    c = [part.count(code) for code in range(6)]
    runs = [r.end() - r.start() for r in _OCCUPIED_UNBOOKED.finditer(part)]
    runs = [r for r in runs if r >= meetup]
    return SensorDay(
        room, day, available_minutes=b - a, observed_minutes=(b - a) - c[0] - c[3],
        occupied_minutes=c[2] + c[5], booked_minutes=c[3] + c[4] + c[5], booked_observed_minutes=c[4] + c[5],
        booked_used_minutes=c[5], booked_unused_minutes=c[4], unbooked_used_minutes=c[2],
        meetups=len(runs), meetup_minutes=sum(runs), meetings=sensed)


def _meeting(event: RoomEvent, states: bytes, origin: datetime, grace: int) -> Meeting:
    n = len(states)
    a, b = _index(origin, event.start_utc, n), _index(origin, ceil_minute(event.end_utc), n)
    span = states[a:b]
    if OCCUPIED in span:
        status = "attended"
    elif span and NO_DATA not in span:
        status = "no_show"
    else:
        status = "no_data"
    g = min(b, a + grace)
    head = states[a:g]
    candidate = bool(head) and NO_DATA not in head and OCCUPIED not in head
    return Meeting(event.row_key, event.series_key, event.organizer, event.start_utc, event.end_utc, status,
                   candidate, candidate and status == "attended")
