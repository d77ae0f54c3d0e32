"""Meetings as an organiser books them, their per-mailbox copies, and expansion into calendar instances.

A ``Meeting`` is the organiser's object (times in its own time zone, recurrence, per-occurrence overrides).
Every mailbox that holds it (each room attendee, and the organiser's if modelled) has a ``Copy`` with its own
Graph event id, like Exchange, and its own response (a room's decline affects only the room's copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from . import recurrence as rec
from .world import event_id

# Shared read-only empties: most copies are never declined and most meetings have no exceptions, so a generated
# year of bookings does not pay for two empty dicts per meeting. Writers call ``own_declines``/``own_overrides``.
NO_DECLINES: MappingProxyType = MappingProxyType({})
NO_OVERRIDES: MappingProxyType = MappingProxyType({})


@dataclass(slots=True)
class Attendee:
    email: str
    name: str
    type: str = "required"  # required | optional | resource


@dataclass(slots=True)
class Override:
    """A changed or removed occurrence of a series (an exception), keyed by its original start date."""

    start: datetime | None = None  # local, naive
    end: datetime | None = None
    removed: bool = False
    cancelled: bool = False
    stamp: int = 0
    modified: datetime | None = None


@dataclass(slots=True)
class Copy:
    meeting: Meeting
    mailbox: str  # lower-case email
    raw: bytes
    # occurrence key or "*" → (stamp, at); read-only until own_declines()
    declined: dict[str, tuple[int, datetime]] = field(default_factory=lambda: NO_DECLINES)
    accepted_at: datetime | None = None
    private_cleared: bool = False  # the mailbox cleared the private flag when the meeting arrived

    @property
    def id(self) -> str:
        """The Graph id of the single event or series master, derived from raw (not stored: ~80 bytes a copy)."""
        return event_id(self.raw)

    def own_declines(self) -> dict[str, tuple[int, datetime]]:
        if self.declined is NO_DECLINES:
            self.declined = {}
        return self.declined

    def occurrence_id(self, key: str) -> str:
        return event_id(self.raw, key)


@dataclass(slots=True)
class Meeting:
    id: str
    tenant_id: str
    organizer: Attendee
    attendees: list[Attendee]
    start: datetime  # local wall-clock time in tz, naive
    end: datetime
    tz: str
    created: datetime
    modified: datetime
    stamp: int
    subject: str | None = None  # None → a canary subject (canary.subject)
    recurrence: dict | None = None
    overrides: dict[str, Override] = field(default_factory=lambda: NO_OVERRIDES)  # read-only until own_overrides()
    sensitivity: str = "normal"
    online: bool = False
    online_provider: str = "teamsForBusiness"
    pasted_join: str | None = None  # an add-in's join link in a location (canary.PASTED_JOIN_TEMPLATES key)
    show_as: str = "busy"
    importance: str = "normal"
    is_all_day: bool = False
    cancelled: bool = False
    copies: dict[str, Copy] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def to_utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def own_overrides(self) -> dict[str, Override]:
        if self.overrides is NO_OVERRIDES:
            self.overrides = {}
        return self.overrides

    def rooms(self) -> list[Attendee]:
        return [a for a in self.attendees if a.type == "resource"]


@dataclass(slots=True)
class Instance:
    """What calendarView returns for one copy: a single instance, an occurrence or an exception."""

    copy: Copy
    key: str | None  # None for a single instance
    start: datetime  # UTC, aware
    end: datetime
    type: str
    stamp: int
    modified: datetime
    cancelled: bool

    @property
    def id(self) -> str:
        return self.copy.id if self.key is None else self.copy.occurrence_id(self.key)


def _decline_info(copy: Copy, key: str) -> tuple[int, datetime] | None:
    best = None
    for k in ("*", key):
        d = copy.declined.get(k)
        if d and (best is None or d[0] > best[0]):
            best = d
    return best


def instances(copy: Copy, start: datetime, end: datetime) -> list[Instance]:
    """Instances of ``copy`` overlapping [start, end) (UTC, aware), as calendarView defines overlap."""
    m = copy.meeting
    out: list[Instance] = []

    def make(key: str | None, ls: datetime, le: datetime, typ: str, stamp: int, modified: datetime, cancelled: bool):
        us, ue = m.to_utc(ls), m.to_utc(le)
        if us < end and (ue > start or (us == ue and us >= start)):
            d = _decline_info(copy, key or "*")
            if d and d[0] > stamp:
                stamp, modified = d[0], max(modified, d[1])
            out.append(Instance(copy, key, us, ue, typ, stamp, modified, cancelled))

    if m.recurrence is None:
        make(None, m.start, m.end, "singleInstance", m.stamp, m.modified, m.cancelled)
        return out
    dur = m.duration
    first = (start - dur - timedelta(days=2)).date()
    last = (end + timedelta(days=2)).date()
    keys = [d.isoformat() for d in rec.occurrence_dates(m.recurrence, last) if d >= first]
    keys += [k for k, o in m.overrides.items() if o.start is not None and k not in keys]
    for k in keys:
        o = m.overrides.get(k)
        if o and o.removed:
            continue
        ls = datetime.combine(date.fromisoformat(k), m.start.time())
        le = ls + dur
        if o and o.start is not None:
            make(
                k,
                o.start,
                o.end,
                "exception",
                max(m.stamp, o.stamp),
                max(m.modified, o.modified),
                m.cancelled or o.cancelled,
            )
        else:
            cancelled = m.cancelled or bool(o and o.cancelled)
            stamp = max(m.stamp, o.stamp) if o else m.stamp
            modified = max(m.modified, o.modified) if o and o.modified else m.modified
            # an occurrence the room answered on its own differs from its master, so it is an exception (MS-OXWSMTGS
            # CalendarItemTypeType: "an exception to a recurring calendar item"), sent in full by delta
            kind = "exception" if o or k in copy.declined else "occurrence"
            make(k, ls, le, kind, stamp, modified, cancelled)
    return out


def series_has_occurrence(m: Meeting, key: str) -> bool:
    if m.recurrence is None:
        return False
    if key in m.overrides:
        return not m.overrides[key].removed
    d = date.fromisoformat(key)
    return any(x == d for x in rec.occurrence_dates(m.recurrence, d))


def local_midnight(d: date) -> datetime:
    return datetime.combine(d, time())
