"""Sensor health per room: when its sensor last reported, and the gaps (no data for at least the stale time)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from shared.occupancy.directory import RoomIndex, load_tenant
from shared.occupancy.store import OccupancyStore
from shared.occupancy.timeline import MINUTE, NO_DATA, floor_minute, minute_states

GAP_DAYS = 7


def sensor_health(tables, clock, tenant_id: str, *, hold: int, stale_minutes: int, days: int = GAP_DAYS) -> dict:
    tenant = load_tenant(tables, tenant_id)
    index, store = RoomIndex.load(tables, tenant.id), OccupancyStore(tables)
    now = floor_minute(clock.now())
    since = now - timedelta(days=days)
    rooms = []
    for room in sorted(index.rooms.values(), key=lambda r: r.email):
        if not room.sensor_id:
            rooms.append({"room": room.email, "sensor": None, "status": "no_sensor", "last_report": None,
                          "gaps": [], "no_data_minutes": None})
            continue
        stored = store.load(tenant.id, room.email, since.date() - timedelta(days=1), now.date())
        states = minute_states(stored, since, now, hold=hold)
        last = max((rd.last_report for rd in stored.values() if rd.last_report), default=None)
        gaps = [(since + a * MINUTE, since + b * MINUTE) for a, b in _runs_of(states, NO_DATA)
                if b - a >= stale_minutes]
        rooms.append({
            "room": room.email, "sensor": room.sensor_id, "last_report": _iso(last),
            "status": status_of(last, now, stale_minutes),
            "gaps": [{"start": _iso(a), "end": _iso(b), "minutes": (b - a) // MINUTE} for a, b in gaps],
            "no_data_minutes": states.count(NO_DATA),
        })
    return {"tenant": tenant.id, "since": _iso(since), "until": _iso(now), "stale_minutes": stale_minutes,
            "rooms": rooms}


def status_of(last: datetime | None, now: datetime, stale_minutes: int) -> str:
    if last is None:
        return "never_reported"
    return "stale" if now - last > timedelta(minutes=stale_minutes) else "ok"


def _runs_of(states: bytes, code: int) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(re.escape(bytes((code,))) + b"+", states)]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
