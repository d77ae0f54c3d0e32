"""The per-room, per-local-day aggregate (dataset ``bookings``) and how it is computed from Events rows.

One ``RoomDay`` per room and room-local calendar day, also for days without bookings (their available time
matters). It holds counts and seconds only, plus what the groups view needs: the organiser's domain and
department, and keyed hashes of organisers (so distinct organisers can be counted over any range without
keeping an address). Sensor metrics (issue 11) live in a sibling dataset keyed the same way (tenant, room, day)
in the same store, so a query joins them on ``room`` and ``day``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from shared import keys
from shared.analytics import definitions as d
from shared.models import RoomEvent

DATASET = "bookings"


@dataclass(frozen=True, slots=True)
class Group:
    domain: str
    department: str
    meetings: int
    booked_seconds: int


@dataclass(frozen=True, slots=True)
class RoomDay:
    room: str
    day: date
    available_seconds: int = 0
    booked_seconds: int = 0
    meetings: int = 0
    ad_hoc_meetings: int = 0
    all_day_meetings: int = 0
    lead_buckets: tuple[int, ...] = (0,) * len(d.LEAD_BUCKETS)  # meetings per definitions.LEAD_BUCKETS
    sizes: tuple[int, ...] = ()  # meeting size of each meeting that starts this day, ascending
    organisers: tuple[int, ...] = ()  # keyed hashes (64 bits) of the distinct organisers of those meetings
    hour_available: tuple[int, ...] = (0,) * 24  # seconds per local wall-clock hour
    hour_booked: tuple[int, ...] = (0,) * 24
    groups: tuple[Group, ...] = ()  # per (domain, department): meetings and their own clipped booked seconds

    @property
    def planned_meetings(self) -> int:
        return self.meetings - self.ad_hoc_meetings


@dataclass
class _Day:
    available: d.Interval | None
    bookings: list[d.Interval] = field(default_factory=list)
    starting: list[RoomEvent] = field(default_factory=list)


def compute_room_days(room: str, events: Iterable[RoomEvent], zone: ZoneInfo, first: date, last: date,
                      rules: d.Rules, *, hash_key: str, department=lambda event: "") -> list[RoomDay]:
    """Every day of [first, last] (room-local, inclusive) for one room, from its stored events."""
    days = {first + timedelta(days=k): None for k in range((last - first).days + 1)}
    state = {day: _Day(d.available(day, zone, rules)) for day in days}
    counted = [e for e in events if d.counts(e)]
    for event in counted:
        for day, interval in _booked_pieces(event, zone, state):
            state[day].bookings.append(interval)
        begins = d.start_day(event, zone)
        if begins in state:
            state[begins].starting.append(event)
    return [_room_day(room, day, s, zone, rules, hash_key, department) for day, s in state.items()]


def _booked_pieces(event: RoomEvent, zone: ZoneInfo, state: dict[date, _Day] | None = None):
    """(room-local day, UTC interval) pieces of the event, limited to the days in ``state`` when given;
    an all-day booking gives whole days."""
    if event.is_all_day:
        pieces = [(day, d.day_bounds(day, zone)) for day in d.all_day_dates(event, zone)]
    else:
        pieces, day = [], event.start_utc.astimezone(zone).date()
        while True:
            lo, hi = d.day_bounds(day, zone)
            if min(hi, event.end_utc) > max(lo, event.start_utc):
                pieces.append((day, (max(lo, event.start_utc), min(hi, event.end_utc))))
            if hi >= event.end_utc:
                break
            day += timedelta(days=1)
    return [(day, piece) for day, piece in pieces if state is None or day in state]


def event_booked_seconds(event: RoomEvent, zone: ZoneInfo, rules: d.Rules) -> int:
    """The event's own booked time, clipped to available time on every day it covers (for the groups view);
    independent of the range being computed, so a month recomputed alone equals a full rebuild."""
    total = 0
    for day, piece in _booked_pieces(event, zone):
        window = d.available(day, zone, rules)
        if window is not None:
            total += d.seconds(d.clip([piece], window))
    return total


def _room_day(room, day, s: _Day, zone, rules, hash_key, department) -> RoomDay:
    if s.available is None:
        booked, hour_available, hour_booked = 0, (0,) * 24, (0,) * 24
    else:
        booked_intervals = d.clip(d.union(s.bookings), s.available)
        booked = d.seconds(booked_intervals)
        slices = d.hour_slices(day, zone)
        hour_available = tuple(d.seconds(d.clip([s.available], h)) for h in slices)
        hour_booked = tuple(d.seconds(d.clip(booked_intervals, h)) for h in slices)
    buckets = [0] * len(d.LEAD_BUCKETS)
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    ad_hoc = all_day = 0
    organisers = set()
    for event in s.starting:
        lead = d.lead_time(event)
        buckets[d.LEAD_BUCKET_NAMES.index(d.lead_bucket(lead))] += 1
        ad_hoc += d.is_ad_hoc(lead, rules)
        all_day += event.is_all_day
        if event.organizer:
            organisers.add(int(keys.keyed_hash(hash_key, "organiser", event.organizer.lower())[:16], 16))
        group = groups[(d.organiser_domain(event), department(event) or "")]
        group[0] += 1
        group[1] += event_booked_seconds(event, zone, rules)
    return RoomDay(
        room=room, day=day, available_seconds=0 if s.available is None else d.seconds([s.available]),
        booked_seconds=booked, meetings=len(s.starting), ad_hoc_meetings=ad_hoc, all_day_meetings=all_day,
        lead_buckets=tuple(buckets), sizes=tuple(sorted(d.meeting_size(e) for e in s.starting)),
        organisers=tuple(sorted(organisers)), hour_available=hour_available, hour_booked=hour_booked,
        groups=tuple(Group(dom, dep, m, sec) for (dom, dep), (m, sec) in sorted(groups.items())),
    )
