"""Presence from a sensor platform: samples or occupied/vacant intervals, JSON or CSV, validated row by row.

Good rows are kept even when others are wrong, and every bad row is reported with its number, what is wrong and
what to do. Storing is a max-merge per room and UTC day (``timeline``), so sending a batch again changes nothing.

Shapes (docs/analytics.md, "Occupancy ingest"):
- sample: ``{"sensor" | "room", "time", "occupied", "people"?}`` — the room's state from ``time`` until the next
  sample, at most the sample hold (ROOMCAL_OCCUPANCY_SAMPLE_HOLD_MINUTES);
- interval: ``{"sensor" | "room", "start", "end", "occupied"? (default true), "people"?}``.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import InvalidInput
from shared.models import Email, UtcDateTime
from shared.occupancy.directory import RoomIndex, load_tenant
from shared.occupancy.monthly import MonthlyFigures
from shared.occupancy.store import OccupancyStore
from shared.occupancy.timeline import RoomDay, utc_days

QUEUE = "occupancy-ingest"
CLOCK_SKEW = timedelta(minutes=2)
MAX_INTERVAL = timedelta(hours=24)
MAX_PEOPLE = 1000
MAX_REPORTED_ERRORS = 1000
SAMPLE_COLUMNS = ("sensor", "room", "time", "occupied", "people")
INTERVAL_COLUMNS = ("sensor", "room", "start", "end", "occupied", "people")
_SENSOR = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sensor: str | None = _SENSOR
    room: Email | None = None
    people: int | None = Field(default=None, ge=0, le=MAX_PEOPLE)

    @model_validator(mode="after")
    def _names_a_room(self):
        if self.sensor is None and self.room is None:
            raise ValueError("give 'sensor' (the sensor id set on the room) or 'room' (its e-mail)")
        occupied = getattr(self, "occupied", True)
        if self.people is not None and occupied and self.people == 0:
            raise ValueError("people is 0 but occupied is true: send occupied false, or the count seen")
        if self.people and not occupied:
            raise ValueError(f"people is {self.people} but occupied is false")
        return self


class SampleRow(_Row):
    time: UtcDateTime
    occupied: bool


class IntervalRow(_Row):
    start: UtcDateTime
    end: UtcDateTime
    occupied: bool = True

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_INTERVAL:
            raise ValueError("an interval may span at most 24 hours: split it")
        return self


@dataclass
class Report:
    shape: str
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    room_days_changed: int = 0
    errors: list[dict] = field(default_factory=list)

    def reject(self, row: int | None, error: str, fix: str = "", field_name: str | None = None) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            entry = {"row": row, "error": error}
            if field_name:
                entry["field"] = field_name
            if fix:
                entry["fix"] = fix
            self.errors.append(entry)

    def as_dict(self) -> dict:
        return {"shape": self.shape, "received": self.received, "accepted": self.accepted,
                "duplicates": self.duplicates, "rejected": self.rejected,
                "room_days_changed": self.room_days_changed, "errors": self.errors,
                "errors_truncated": self.rejected > len(self.errors)}


@dataclass(frozen=True)
class Limits:
    max_rows: int = 20_000


# ------------------------------------------------------------------------------------------- parsing the body


def rows_from_json(body: object) -> tuple[str, list[tuple[int, object]]]:
    if not isinstance(body, dict) or len({"samples", "intervals"} & set(body)) != 1:
        raise InvalidInput("the body must be a JSON object with either 'samples' or 'intervals' (a list)",
                           fix='send {"samples": [{"sensor": "sn-1", "time": "...Z", "occupied": true}]}')
    shape = "samples" if "samples" in body else "intervals"
    extra = set(body) - {shape}
    if extra:
        raise InvalidInput(f"unknown field(s) {', '.join(sorted(extra))} beside '{shape}'")
    rows = body[shape]
    if not isinstance(rows, list):
        raise InvalidInput(f"'{shape}' must be a list of rows")
    return shape, list(enumerate(rows, start=1))


def rows_from_csv(text: str) -> tuple[str, list[tuple[int, object]]]:
    """CSV with a header: ``time`` makes it samples, ``start,end`` intervals; rows numbered by file line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "time" in header:
        shape, allowed = "samples", SAMPLE_COLUMNS
    elif "start" in header and "end" in header:
        shape, allowed = "intervals", INTERVAL_COLUMNS
    else:
        raise InvalidInput("the CSV header must name 'time' (samples) or 'start' and 'end' (intervals)",
                           fix="first line e.g. sensor,time,occupied,people")
    unknown = [h for h in header if h not in allowed]
    if unknown:
        raise InvalidInput(f"unknown CSV column(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    reader.fieldnames = header
    rows: list[tuple[int, object]] = []
    try:
        for record in reader:
            row: dict = {k: v.strip() for k, v in record.items() if k and isinstance(v, str) and v.strip()}
            if record.get(None):
                row["extra_cells"] = record[None]
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise InvalidInput(f"cannot read the CSV at line {reader.line_num + 1} ({exc})",
                           fix="check that line: a missing closing quote makes the rest of the file one cell") from None
    return shape, rows


# ------------------------------------------------------------------------------------------- ingesting


class Ingest:
    def __init__(self, tables, clock, *, limits: Limits | None = None,
                 on_change: Callable[[str, str, list[date]], None] | None = None) -> None:
        self._tables, self._clock = tables, clock
        self._store = OccupancyStore(tables)
        self._monthly = MonthlyFigures(tables, clock)
        self._limits = limits or Limits()
        self._on_change = on_change

    def ingest(self, tenant_id: str, shape: str, rows: list[tuple[int, object]]) -> dict:
        tenant = load_tenant(self._tables, tenant_id)
        if len(rows) > self._limits.max_rows:
            raise InvalidInput(f"{len(rows)} rows in one request; at most {self._limits.max_rows}",
                               fix="split the batch, or write large batches to the occupancy-ingest queue")
        index = RoomIndex.load(self._tables, tenant.id)
        now = self._clock.now()
        oldest = now - timedelta(days=tenant.settings.retention_days)  # the tenant keeps sensor data as long as events
        checker = _Checker(index, now, oldest, Report(shape, received=len(rows)))
        model = SampleRow if shape == "samples" else IntervalRow
        days: dict[tuple[str, date], RoomDay] = {}
        for number, raw in rows:
            accepted = checker.check(number, raw, model)
            if accepted is None:
                continue
            room, row = accepted
            if isinstance(row, SampleRow):
                _day(days, room, row.time.date()).add_sample(row.time, row.occupied, row.people)
            else:
                for day in utc_days(row.start, row.end):
                    _day(days, room, day).add_interval(row.start, row.end, row.occupied, row.people)
        by_room: dict[str, list[RoomDay]] = {}
        for (room, _), rd in sorted(days.items()):
            by_room.setdefault(room, []).append(rd)
        report = checker.report
        for room, room_days in by_room.items():
            changed = self._store.merge_days(tenant.id, room, room_days)
            report.room_days_changed += len(changed)
            if changed:
                self._monthly.mark_utc_days(tenant.id, room, changed)
            if changed and self._on_change is not None:
                self._on_change(tenant.id, room, changed)
        return report.as_dict()


def _day(days: dict, room: str, day: date) -> RoomDay:
    rd = days.get((room, day))
    if rd is None:
        rd = days[(room, day)] = RoomDay(day)
    return rd


class _Checker:
    """Validates rows one by one and remembers what was accepted (duplicates, conflicts, overlaps)."""

    def __init__(self, index: RoomIndex, now: datetime, oldest: datetime, report: Report) -> None:
        self.index, self.now, self.oldest, self.report = index, now, oldest, report
        self.samples: dict[tuple[str, datetime], tuple[int, tuple]] = {}
        self.intervals: dict[str, list[tuple[datetime, datetime, int, tuple]]] = {}

    def check(self, number: int, raw: object, model: type[_Row]):
        report = self.report
        if not isinstance(raw, dict):
            report.reject(number, "each row must be an object with named fields")
            return None
        if "extra_cells" in raw:
            report.reject(number, "more cells than columns in the header")
            return None
        try:
            row = model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = ".".join(map(str, first["loc"])) or None
            message = first["msg"].removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                message = f"unknown field; allowed: {', '.join(model.model_fields)}"
            report.reject(number, message, field_name=name)
            return None
        room = self._room(number, row)
        if room is None:
            return None
        begins, ends = (row.time, row.time) if isinstance(row, SampleRow) else (row.start, row.end)
        if ends > self.now + CLOCK_SKEW:
            report.reject(number, f"{ends.isoformat()} is in the future", "send only what the sensor has seen",
                          "time" if isinstance(row, SampleRow) else "end")
            return None
        if begins < self.oldest:
            report.reject(number, f"{begins.isoformat()} is before the retention period ({self.oldest.date()})",
                          "RoomCal keeps occupancy as long as events: drop rows that old",
                          "time" if isinstance(row, SampleRow) else "start")
            return None
        content = (row.occupied, row.people)
        if isinstance(row, SampleRow):
            return self._sample(number, room, row, content)
        return self._interval(number, room, row, content)

    def _room(self, number: int, row: _Row) -> str | None:
        by_sensor = self.index.by_sensor.get(row.sensor) if row.sensor else None
        if row.sensor and by_sensor is None:
            self.report.reject(number, f"unknown sensor {row.sensor!r}: no registered room has this sensor id",
                               "set the room's sensor_id (PATCH /api/tenants/{tenant}/rooms/{email})", "sensor")
            return None
        if row.room and row.room not in self.index.rooms:
            self.report.reject(number, f"room {row.room} is not registered",
                               "register it (POST /api/tenants/{tenant}/rooms)", "room")
            return None
        if by_sensor and row.room and by_sensor != row.room:
            self.report.reject(number, f"sensor {row.sensor!r} belongs to {by_sensor}, not {row.room}",
                               "send the sensor or the room, or correct the room's sensor_id", "room")
            return None
        return by_sensor or row.room

    def _sample(self, number: int, room: str, row: SampleRow, content: tuple):
        key = (room, row.time)
        seen = self.samples.get(key)
        if seen is not None:
            if seen[1] == content:
                self.report.duplicates += 1
                return None
            self.report.reject(number, f"contradicts row {seen[0]}: the same room and time with another state",
                               "send one sample per room and time", "time")
            return None
        self.samples[key] = (number, content)
        self.report.accepted += 1
        return room, row

    def _interval(self, number: int, room: str, row: IntervalRow, content: tuple):
        accepted = self.intervals.setdefault(room, [])
        i = bisect.bisect_left(accepted, (row.start,))
        for other in accepted[max(0, i - 1):i + 1]:
            s, e, other_number, other_content = other
            if (s, e, other_content) == (row.start, row.end, content):
                self.report.duplicates += 1
                return None
            if s < row.end and row.start < e:
                self.report.reject(number, f"overlaps row {other_number} of the same room",
                                   "send intervals of one room that do not overlap", "start")
                return None
        bisect.insort(accepted, (row.start, row.end, number, content))
        self.report.accepted += 1
        return room, row
