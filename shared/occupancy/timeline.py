"""What sensors reported for one room, minute by minute: stored per UTC day, read back as one state per minute.

A room-day holds three arrays of 1,440 bytes (one per UTC minute), merged by taking the maximum, so merging is
order-free and idempotent (re-sending a batch changes nothing):

- ``samples``: 0 no sample began in that minute, 1 a sample said vacant, 2 a sample said occupied;
- ``intervals``: 0 no interval covers the minute, 1 a vacant interval does, 2 an occupied interval does;
- ``people``: the highest people count reported for the minute (capped at 255 when stored).

Read back (``minute_states``), each minute is NO_DATA, VACANT or OCCUPIED: an interval covering it says so; a
sample holds from its minute until the next sample, at most ``hold`` minutes; when both speak, occupied wins.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

MINUTES = 1440
NO_DATA, VACANT, OCCUPIED = 0, 1, 2
_REPORTED = re.compile(rb"[\x01\x02]")
_RUN = re.compile(rb"[\x01\x02]+")
MINUTE = timedelta(minutes=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def ceil_minute(moment: datetime) -> datetime:
    floored = floor_minute(moment)
    return floored if floored == moment.astimezone(UTC) else floored + MINUTE


@dataclass
class RoomDay:
    """One room's reports for one UTC day."""

    day: date
    samples: bytearray = field(default_factory=lambda: bytearray(MINUTES))
    intervals: bytearray = field(default_factory=lambda: bytearray(MINUTES))
    people: bytearray = field(default_factory=lambda: bytearray(MINUTES))
    last_report: datetime | None = None

    def add_sample(self, at: datetime, occupied: bool, people: int | None) -> None:
        m = _minute_of(self.day, at)
        self.samples[m] = max(self.samples[m], OCCUPIED if occupied else VACANT)
        if people:
            self.people[m] = max(self.people[m], min(people, 255))
        self._seen(at)

    def add_interval(self, start: datetime, end: datetime, occupied: bool, people: int | None) -> None:
        """The part of [start, end) on this day: every minute it touches."""
        first = max(day_start(self.day), start)
        last = min(day_start(self.day) + timedelta(days=1), end)
        if first >= last:
            return
        a, b = _minute_of(self.day, first), _minute_of(self.day, ceil_minute(last) - MINUTE) + 1
        code = OCCUPIED if occupied else VACANT
        current = self.intervals[a:b]
        self.intervals[a:b] = bytes(max(code, c) for c in current)
        if people:
            count = min(people, 255)
            self.people[a:b] = bytes(max(count, c) for c in self.people[a:b])
        self._seen(end if end <= last else last)

    def merge(self, other: RoomDay) -> bool:
        """Fold ``other`` (same day) into this one; True if anything changed."""
        before = (bytes(self.samples), bytes(self.intervals), bytes(self.people))
        for name in ("samples", "intervals", "people"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if any(theirs):
                setattr(self, name, bytearray(map(max, mine, theirs)))
        if other.last_report and (self.last_report is None or other.last_report > self.last_report):
            self.last_report = other.last_report
        return before != (bytes(self.samples), bytes(self.intervals), bytes(self.people))

    def _seen(self, at: datetime) -> None:
        if self.last_report is None or at > self.last_report:
            self.last_report = at

    def pack(self) -> bytes:
        return zlib.compress(bytes(self.samples) + bytes(self.intervals) + bytes(self.people), 6)

    @classmethod
    def unpack(cls, day: date, packed: bytes, last_report: datetime | None) -> RoomDay:
        raw = zlib.decompress(packed)
        if len(raw) != 3 * MINUTES:
            raise ValueError("stored occupancy day has the wrong size")
        return cls(day, bytearray(raw[:MINUTES]), bytearray(raw[MINUTES:2 * MINUTES]),
                   bytearray(raw[2 * MINUTES:]), last_report)


def _minute_of(day: date, at: datetime) -> int:
    m = (floor_minute(at) - day_start(day)) // MINUTE
    if not 0 <= m < MINUTES:
        raise ValueError(f"{at.isoformat()} is not on {day.isoformat()} (UTC)")
    return m


def utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days [start, end) touches."""
    first, last = start.astimezone(UTC).date(), (ceil_minute(end) - MINUTE).astimezone(UTC).date()
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def minute_states(days: dict[date, RoomDay], start: datetime, end: datetime, *, hold: int) -> bytearray:
    """One byte per minute of [start, end) (minute-aligned UTC): NO_DATA, VACANT or OCCUPIED."""
    origin = floor_minute(start)
    n = (ceil_minute(end) - origin) // MINUTE
    lead = hold  # samples up to ``hold`` minutes before the window still speak for its first minutes
    reach = origin - timedelta(minutes=lead)
    span = lead + n
    samples, intervals = bytearray(span), bytearray(span)
    for day in utc_days(reach, origin + timedelta(minutes=n)):
        rd = days.get(day)
        if rd is None:
            continue
        offset = (day_start(day) - reach) // MINUTE  # where this day's minute 0 lands in the window
        a, b = max(0, -offset), min(MINUTES, span - offset)
        if a < b:
            samples[offset + a:offset + b] = rd.samples[a:b]
            intervals[offset + a:offset + b] = rd.intervals[a:b]
    state = bytearray(span)
    points = [m.start() for m in _REPORTED.finditer(samples)]
    for i, p in enumerate(points):
        stop = min(span, p + hold, points[i + 1] if i + 1 < len(points) else span)
        state[p:stop] = bytes((samples[p],)) * (stop - p)
    for run in _RUN.finditer(intervals):
        a, b = run.span()
        state[a:b] = bytes(map(max, state[a:b], intervals[a:b]))
    return state[lead:]


def occupied_runs(states: bytes) -> list[tuple[int, int]]:
    """(first, end) minute indexes of each run of OCCUPIED minutes."""
    return [m.span() for m in re.finditer(rb"\x02+", states)]
