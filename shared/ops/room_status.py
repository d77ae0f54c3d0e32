"""Room status now, per tenant, read from the tables only (no Graph call).

For every room: free/busy now, the current and the next meeting within 14 days (times, attendee count
without rooms and resources, organiser, online flag) and the room's sync state. Cancelled
meetings, meetings the room declined and "free" bookings do not make a room busy. Organisers
are shown only when the tenant set ``show_organisers`` (Exchange clears the private flag in room
calendars by default, so a private meeting looks public there), and never for a meeting marked
private or confidential.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from shared import keys
from shared.errors import NotFound
from shared.messages import parse_stamp
from shared.models import Tenant, TenantSettings
from shared.ports import Clock, Entity, TableStore
from shared.sync.sync import EVENTS, TENANTS
from shared.sync.sync_lease import TABLE as ROOM_SYNC

ROOMS = "Rooms"
NEXT_MEETING_HORIZON = timedelta(days=14)  # "next meeting" looks this far ahead
_EVENT_FIELDS = ["start_utc", "end_utc", "is_cancelled", "room_response", "show_as", "organizer", "attendees",
                 "is_online", "is_all_day", "sensitivity"]
_SYNC_FIELDS = ("status", "last_sync_at", "last_full_sync_at", "last_error", "event_count", "round_pages",
                "subscription_expires_at")


def tenant_room_status(tables: TableStore, clock: Clock, tenant_id: str) -> dict:
    tenant = keys.normalise_tenant_id(tenant_id)
    registry = {row["RowKey"]: row for row in tables.query(ROOMS, tenant)}
    sync_rows = {row.get("room") or row["RowKey"]: row for row in tables.query(ROOM_SYNC, tenant)}
    settings = _settings(tables, tenant, must_exist=not registry and not sync_rows)
    now = clock.now()
    rooms = [_room(tables, tenant, email, registry.get(email, {}), sync_rows.get(email, {}), now, settings)
             for email in sorted(set(registry) | set(sync_rows))]
    return {"tenant": tenant, "at": now.isoformat(), "rooms": rooms}


def _settings(tables: TableStore, tenant: str, *, must_exist: bool) -> TenantSettings:
    try:
        return Tenant.from_entity(tables.get(TENANTS, "tenant", tenant)).settings
    except NotFound:
        if must_exist:
            raise NotFound("no such tenant", fix="register the tenant first (POST /api/tenants)") from None
        return TenantSettings()


def _room(tables: TableStore, tenant: str, email: str, registry: Entity, sync: Entity, now: datetime,
          settings: TenantSettings) -> dict:
    # Only rows overlapping [now, now + horizon): a year of bookings is not read for "now".
    window = f"end_utc gt {_odata_time(now)} and start_utc lt {_odata_time(now + NEXT_MEETING_HORIZON)}"
    events = [e for e in tables.query(EVENTS, keys.room_partition(tenant, email), filter=window,
                                      select=_EVENT_FIELDS) if _blocks_room(e)]
    current = min((e for e in events if _start(e) <= now < _end(e)), key=_end, default=None)
    upcoming = min((e for e in events if _start(e) > now), key=_start, default=None)
    status: dict = {
        "room": email, "display_name": registry.get("display_name", ""), "capacity": registry.get("capacity"),
        "free_busy": "busy" if current else "free",
        "current": _meeting(current, settings), "next": _meeting(upcoming, settings),
        "sync": {k: sync.get(k) for k in _SYNC_FIELDS if sync.get(k) not in (None, "")},
    }
    if current is None and upcoming is not None:
        status["free_until"] = _start(upcoming).isoformat()
    if current is not None:
        status["busy_until"] = _end(current).isoformat()
    return status


def _odata_time(moment: datetime) -> str:
    return f"datetime'{moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'"


def _meeting(event: Entity | None, settings: TenantSettings) -> dict | None:
    if event is None:
        return None
    attendees = event.get("attendees")
    people = json.loads(attendees) if isinstance(attendees, str) else attendees or []
    return {
        "start": _start(event).isoformat(), "end": _end(event).isoformat(),
        "attendee_count": event["people_count"] if isinstance(event.get("people_count"), int)
        else sum(1 for a in people if a.get("type") != "resource"),
        "organizer": event.get("organizer") if settings.shows_organiser(event.get("sensitivity")) else None,
        "is_online": bool(event.get("is_online")), "is_all_day": bool(event.get("is_all_day")),
    }


def _blocks_room(event: Entity) -> bool:
    return (not event.get("is_cancelled") and event.get("room_response") != "declined"
            and event.get("show_as") != "free" and _start(event) is not None and _end(event) is not None)


def _start(event: Entity) -> datetime:
    return parse_stamp(event.get("start_utc"))


def _end(event: Entity) -> datetime:
    return parse_stamp(event.get("end_utc"))
