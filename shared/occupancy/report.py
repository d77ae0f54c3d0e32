"""The sensor analytics of a tenant over a range of room-local days: per room and in total (JSON, CSV, XLSX).

A room without a sensor is reported with ``data: "no_sensor"`` and every sensor figure null; minutes the sensor
did not cover are *no data* (``coverage`` says how much it saw), so silence never reads as an empty room.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared import keys
from shared.analytics import definitions as d
from shared.analytics import zones
from shared.errors import NotFound
from shared.models import Room, RoomEvent, Tenant
from shared.occupancy import monthly
from shared.occupancy.directory import RoomIndex, load_tenant
from shared.occupancy.metrics import SensorDay, compute_sensor_days, window_of
from shared.occupancy.store import OccupancyStore
from shared.occupancy.timeline import floor_minute, minute_states
from shared.timezones import zone as zone_named

EVENTS = "Events"
ANALYTICS_ROOMS = "AnalyticsRooms"  # analytics keeps each room's resolved zone there
RELEASES = "NoShowReleases"


class RangeQuery(BaseModel):
    """``from``/``to`` (inclusive room-local days) and the building, floor and room filters."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    building: str | None = None
    floor: str | None = None
    room: str | None = None
    format: str = Field(default="json", pattern="^(json|csv|xlsx)$")

    @model_validator(mode="after")
    def _sane(self):
        # The length bound is the analytics API's (ROOMCAL_ANALYTICS_MAX_DAYS), checked by the service before this.
        if self.to < self.from_:
            raise ValueError("'to' is before 'from'")
        return self

    def rooms(self, index: RoomIndex) -> list[Room]:
        wanted = None if self.room is None else keys.normalise_email(self.room)
        return sorted((r for r in index.rooms.values()
                       if (self.building is None or r.building == self.building)
                       and (self.floor is None or r.floor == self.floor)
                       and (wanted is None or r.email == wanted)), key=lambda r: r.email)


@dataclass(frozen=True)
class Policy:
    """What the metrics need of the tenant's no-show settings."""

    grace_minutes: int
    meetup_minutes: int


def room_zone(room: Room, tenant: Tenant, tables=None) -> ZoneInfo:
    """The room's zone as analytics resolved it (AnalyticsRooms, which knows the mailbox's own setting), else
    analytics' rule without the mailbox: the room's override, its building's zone, the tenant's."""
    if tables is not None:
        try:
            known = tables.get(ANALYTICS_ROOMS, tenant.id, room.email).get("time_zone")
        except NotFound:
            known = None
        if known and not room.time_zone:
            return zone_named(known)
    return zone_named(zones.resolve(room, None, tenant.settings)[0])


def load_events(tables, tenant_id: str, room: str, start: datetime, end: datetime) -> list[RoomEvent]:
    """Stored events of the room overlapping [start, end) (plus a day's margin for all-day bookings)."""
    lo, hi = start - timedelta(days=2), end + timedelta(days=2)
    flt = f"start_utc lt datetime'{_odata(hi)}' and end_utc gt datetime'{_odata(lo)}'"
    return [RoomEvent.from_entity(row) for row in tables.query(EVENTS, keys.room_partition(tenant_id, room),
                                                               filter=flt)]


def _odata(moment: datetime) -> str:
    return floor_minute(moment).isoformat().replace("+00:00", "Z")


def sensor_days(tables, tenant: Tenant, room: Room, first: date, last: date, *, hold: int,
                policy: Policy, events: list[RoomEvent] | None = None) -> list[SensorDay]:
    zone = room_zone(room, tenant, tables)
    start, end = window_of(first, last, zone)
    if events is None:
        events = load_events(tables, tenant.id, room.email, start, end)
    stored = OccupancyStore(tables).load(tenant.id, room.email, start.date() - timedelta(days=1), end.date())
    states = minute_states(stored, start, end, hold=hold)
    return compute_sensor_days(room.email, events, zone, first, last, d.Rules.from_settings(tenant.settings),
                               bytes(states), floor_minute(start), grace_minutes=policy.grace_minutes,
                               meetup_minutes=policy.meetup_minutes)


def released_by_day(tables, tenant_id: str, room: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in tables.query(RELEASES, keys.room_partition(tenant_id, room), select=["day", "outcome"]):
        if row.get("outcome") == "released" and row.get("day"):
            counts[row["day"]] = counts.get(row["day"], 0) + 1
    return counts


def day_figures(x: SensorDay, released: dict[str, int]) -> dict:
    """One local day's sums, as OccupancyMonthly stores them."""
    return {"day": x.day.isoformat(), "available_minutes": x.available_minutes,
            "observed_minutes": x.observed_minutes, "occupied_minutes": x.occupied_minutes,
            "booked_minutes": x.booked_minutes, "booked_observed_minutes": x.booked_observed_minutes,
            "booked_used_minutes": x.booked_used_minutes, "unused_booked_minutes": x.booked_unused_minutes,
            "unbooked_used_minutes": x.unbooked_used_minutes, "meetings": len(x.meetings),
            "attended": x.count("attended"), "no_shows": x.count("no_show"), "no_data_meetings": x.count("no_data"),
            "release_candidates": x.release_candidates, "late_arrivals": x.late_arrivals, "meetups": x.meetups,
            "meetup_minutes": x.meetup_minutes, "released": released.get(x.day.isoformat(), 0)}


def occupancy_report(tables, tenant_id: str, query: RangeQuery, *, hold: int, clock=None) -> dict:
    tenant = load_tenant(tables, tenant_id)
    policy = Policy(tenant.settings.grace_minutes, tenant.settings.meetup_minutes)
    index = RoomIndex.load(tables, tenant.id)
    weeks = ((query.to - query.from_).days + 1) / 7
    chosen = query.rooms(index)
    zones_of = {r.email: room_zone(r, tenant, tables) for r in chosen}
    s = tenant.settings

    def digest_of(email: str) -> str:
        return monthly.digest(policy.grace_minutes, policy.meetup_minutes, s.office_hours, s.holidays,
                              s.holiday_country, s.holiday_subdivision, str(zones_of[email]), hold)

    def compute(email: str, first: date, last: date) -> list[dict]:
        days = sensor_days(tables, tenant, index.rooms[email], first, last, hold=hold, policy=policy)
        released = released_by_day(tables, tenant.id, email)
        return [day_figures(x, released) for x in days]

    with_sensor = [r.email for r in chosen if r.sensor_id]
    stored = monthly.MonthlyFigures(tables, clock or _Now()).days(tenant.id, with_sensor, query.from_, query.to,
                                                                  digest_of=digest_of, compute=compute)
    rooms, totals = [], _Totals()
    for room in chosen:
        base = {"room": room.email, "name": room.display_name, "building": room.building, "floor": room.floor,
                "capacity": room.capacity, "time_zone": str(zones_of[room.email]), "sensor": room.sensor_id}
        if not room.sensor_id:
            rooms.append({**base, "data": "no_sensor", **{k: None for k in FIGURES}})
            continue
        figures = _figures(stored[room.email], weeks)
        totals.add(figures)
        rooms.append({**base, "data": _coverage_word(figures), **figures})
    return {"tenant": tenant.id, "from": query.from_.isoformat(), "to": query.to.isoformat(),
            "grace_minutes": policy.grace_minutes, "meetup_minutes": policy.meetup_minutes,
            "definitions": DEFINITIONS, "rooms": rooms, "summary": totals.summary(weeks)}


class _Now:
    def now(self) -> datetime:
        return datetime.now(UTC)


SUMS = ("available_minutes", "observed_minutes", "occupied_minutes", "booked_minutes", "booked_observed_minutes",
        "booked_used_minutes", "unused_booked_minutes", "unbooked_used_minutes", "meetings", "attended",
        "no_shows", "no_data_meetings", "release_candidates", "late_arrivals", "meetups", "meetup_minutes",
        "released")
FIGURES = (*SUMS, "coverage", "occupancy_rate", "no_show_rate", "unused_booked_share", "hours_lost_per_week")


def _figures(days: list[dict], weeks: float) -> dict:
    f = {k: sum(x[k] for x in days) for k in SUMS}
    return {**f, **_rates(f, weeks)}


def _rates(f: dict, weeks: float) -> dict:
    return {
        "coverage": _ratio(f["observed_minutes"], f["available_minutes"]),
        "occupancy_rate": _ratio(f["occupied_minutes"], f["observed_minutes"]),
        "no_show_rate": _ratio(f["no_shows"], f["attended"] + f["no_shows"]),
        "unused_booked_share": _ratio(f["unused_booked_minutes"], f["booked_observed_minutes"]),
        "hours_lost_per_week": round(f["unused_booked_minutes"] / 60 / weeks, 2) if f["observed_minutes"] else None,
    }


def _ratio(part: int, whole: int) -> float | None:
    return None if not whole else round(part / whole, 4)


def _coverage_word(f: dict) -> str:
    if not f["observed_minutes"]:
        return "none"
    return "complete" if f["observed_minutes"] == f["available_minutes"] else "partial"


class _Totals:
    def __init__(self) -> None:
        self.sums = dict.fromkeys(SUMS, 0)
        self.rooms = 0

    def add(self, figures: dict) -> None:
        self.rooms += 1
        for k in SUMS:
            self.sums[k] += figures[k]

    def summary(self, weeks: float) -> dict:
        return {"rooms_with_sensor": self.rooms, **self.sums, **_rates(self.sums, weeks)}


DEFINITIONS = {
    "minute": "figures count whole UTC minutes; a minute is booked when a counted booking overlaps it",
    "observed_minutes": "minutes of available time the sensor covered (occupied or vacant); the rest is no data",
    "coverage": "observed_minutes / available_minutes",
    "occupancy_rate": "occupied minutes / observed minutes, within available time",
    "no_show": "a counted, timed meeting whose every minute was observed and none occupied",
    "no_data_meetings": "meetings the sensor did not fully observe and saw no presence in: neither attended nor "
                        "no-show",
    "no_show_rate": "no_shows / (attended + no_shows)",
    "release_candidate": "a meeting whose first grace_minutes were all observed and none occupied",
    "late_arrivals": "release candidates where people came after the grace period",
    "unused_booked_minutes": "booked minutes in available time that were observed and vacant",
    "unused_booked_share": "unused_booked_minutes / booked_observed_minutes",
    "hours_lost_per_week": "unused_booked_minutes / 60 / (days in range / 7)",
    "meetup": "a run of at least meetup_minutes occupied, unbooked minutes within available time",
    "released": "meetings RoomCal's no-show release declined in this range",
}
