"""The policy simulator: replay a past range through a candidate no-show policy, before switching it on.

For each meeting of a sensor room in scope it decides as the live release would at the end of the grace period
(``release.Policy.booking_refusal`` for the booking, the sensor's minutes for presence) and reports what would
have been released: meetings, hours freed (from the end of the grace period to the meeting's end), how many of
the freed slots someone else then booked (a counted booking of the room created after the release moment that
overlaps the freed time), and how many releases would have been wrong (people came after the grace period).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.analytics import definitions as d
from shared.occupancy import report as rep
from shared.occupancy.directory import RoomIndex, load_tenant, write_verified
from shared.occupancy.release import Policy


class PolicyQuery(BaseModel):
    """The candidate policy; anything left out is the tenant's current setting."""

    model_config = ConfigDict(extra="ignore")

    grace_minutes: int | None = Field(default=None, ge=5, le=30)
    long_block_minutes: int | None = Field(default=None, ge=30, le=1440)
    min_lead_minutes: int | None = Field(default=None, ge=0, le=1440)

    @classmethod
    def parse(cls, params: dict) -> PolicyQuery:
        from pydantic import ValidationError

        from shared.errors import InvalidInput

        try:
            return cls.model_validate(params)
        except ValidationError as exc:
            raise InvalidInput("policy parameters are invalid", fix="grace_minutes is 5-30; the others minutes",
                               detail={".".join(map(str, e["loc"])): e["msg"] for e in exc.errors()}) from None


def simulate(tables, tenant_id: str, query: rep.RangeQuery, candidate: PolicyQuery, *, hold: int) -> dict:
    tenant = load_tenant(tables, tenant_id)
    policy = Policy.of(tenant, **candidate.model_dump())
    metric_policy = rep.Policy(policy.grace_minutes, tenant.settings.meetup_minutes)
    writable = write_verified(tables, tenant.id)
    grace = timedelta(minutes=policy.grace_minutes)
    rooms, totals = [], dict.fromkeys(("meetings", "would_release", "wrongly_released", "rebooked_by_others"), 0)
    freed_minutes = 0
    for room in query.rooms(RoomIndex.load(tables, tenant.id)):
        if not room.sensor_id or not policy.in_scope(room):
            continue
        zone = rep.room_zone(room, tenant, tables)
        start, end = rep.window_of(query.from_, query.to, zone)
        events = rep.load_events(tables, tenant.id, room.email, start, end)
        by_key = {e.row_key: e for e in events}
        counted = [e for e in events if d.counts(e)]
        days = rep.sensor_days(tables, tenant, room, query.from_, query.to, hold=hold, policy=metric_policy,
                               events=events)
        entry = {"room": room.email, "write_access_verified": writable.get(room.email, False), "meetings": 0,
                 "would_release": 0, "wrongly_released": 0, "rebooked_by_others": 0, "hours_freed": 0.0}
        room_freed = 0
        for day in days:
            for m in day.meetings:
                entry["meetings"] += 1
                event = by_key[m.row_key]
                if not m.release_candidate or policy.booking_refusal(event) or m.end - m.start <= grace:
                    continue
                released_at = m.start + grace
                entry["would_release"] += 1
                entry["wrongly_released"] += m.late
                room_freed += int((m.end - released_at).total_seconds() // 60)
                entry["rebooked_by_others"] += any(
                    o.row_key != m.row_key and o.created_utc is not None and o.created_utc >= released_at
                    and o.start_utc < m.end and o.end_utc > released_at for o in counted)
        entry["hours_freed"] = round(room_freed / 60, 2)
        freed_minutes += room_freed
        for k in totals:
            totals[k] += entry[k]
        rooms.append(entry)
    return {"tenant": tenant.id, "from": query.from_.isoformat(), "to": query.to.isoformat(),
            "policy": {"grace_minutes": policy.grace_minutes, "long_block_minutes": policy.long_block_minutes,
                       "min_lead_minutes": policy.min_lead_minutes, "rooms": sorted(policy.rooms),
                       "buildings": sorted(policy.buildings)},
            "summary": {**totals, "hours_freed": round(freed_minutes / 60, 2)}, "rooms": rooms}
