"""The room registry: which room mailboxes of a tenant RoomCal syncs, and how each one is doing.

Rooms table: PartitionKey tenant id, RowKey the room's e-mail address (lower-case), the
shared ``Room`` model's fields. Rooms link to RoomCal by e-mail address only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from pydantic import ValidationError

from shared import keys
from shared.errors import InvalidInput, NotFound, RoomCalError
from shared.etag_rows import change_model
from shared.models import Room, SyncStatus
from shared.onboarding import tenants
from shared.onboarding.room_import import RoomInput, RoomUpdate, parse_csv, parse_rows
from shared.ops import audit

TABLE = "Rooms"
NOT_VERIFIED = "not verified yet"
VERIFY_FIX = "choose 'Continue setup' (POST /api/tenants/{tenant}/verify) to check RoomCal's access"
_COPY_FIELDS = ("display_name", "capacity", "building", "floor", "sensor_id", "time_zone")


def load(tables, tenant_id: str, email: str) -> Room:
    email = keys.normalise_email(email)
    try:
        return Room.from_entity(tables.get(TABLE, tenant_id, email))
    except NotFound:
        raise NotFound(f"room {email} is not registered for tenant {tenant_id}",
                       fix="register it with POST /api/tenants/{tenant}/rooms") from None


def all_rooms(tables, tenant_id: str) -> list[Room]:
    return [Room.from_entity(row) for row in tables.query(TABLE, tenant_id)]


def change(tables, tenant_id: str, email: str, build: Callable[[Room | None], Room | None]) -> Room | None:
    """Change one room's registry row: ``build(current or None)`` returns its new state (None: no
    change); an etag-conditional merge, so the sync engine's mirrored status is never overwritten."""
    return change_model(tables, TABLE, tenant_id, keys.normalise_email(email), Room, build)


def register(tables, clock, tenant_id: str, *, rows: list | None = None, csv_text: str | None = None,
             actor: str) -> dict:
    """Register rooms from JSON rows or CSV text; good rows are kept, bad ones reported per row."""
    tenant = tenants.load_connected(tables, tenant_id)
    if (rows is None) == (csv_text is None):
        raise InvalidInput("send either a JSON list of rooms or a CSV file, not both or neither")
    good, bad = parse_csv(csv_text) if csv_text is not None else parse_rows(rows)
    if not good and bad:
        raise InvalidInput("no room could be registered", fix="correct the rows listed in detail",
                           detail={"errors": bad})
    added, updated = _upsert_inputs(tables, tenant.id, good)
    if added or updated:
        audit.record(tables, clock, tenant_id=tenant.id, action="rooms.registered", actor=actor,
                     detail={"added": len(added), "updated": len(updated)})
    return {"added": added, "updated": updated, "rejected": len(bad), "errors": bad}


def _upsert_inputs(tables, tenant_id: str, inputs: list[RoomInput]) -> tuple[list[str], list[str]]:
    added, updated = [], []
    for item in inputs:
        changes = {f: getattr(item, f) for f in _COPY_FIELDS if getattr(item, f) is not None}
        is_new: dict = {}

        def registered(current: Room | None, changes=changes, item=item, is_new=is_new) -> Room:
            is_new["value"] = current is None
            if current is None:
                return Room(tenant_id=tenant_id, email=item.email, sync_status=SyncStatus.pending,
                            sync_reason=NOT_VERIFIED, sync_fix=VERIFY_FIX.format(tenant=tenant_id), **changes)
            return current.model_copy(update=changes)

        change(tables, tenant_id, item.email, registered)
        (added if is_new["value"] else updated).append(item.email)
    return added, updated


def import_from_places(tables, clock, graph, tenant_id: str, *, actor: str) -> dict:
    """Register every room in the tenant's Graph /places rooms, with capacity, building and floor."""
    tenant = tenants.load_connected(tables, tenant_id)
    rows, skipped = [], 0
    for place in graph.list_rooms(tenant.id):
        try:
            room = Room.from_place(tenant.id, place)
        except (ValueError, RoomCalError):
            skipped += 1  # a place without a usable e-mail address cannot be synced
            continue
        rows.append({"email": room.email, "display_name": room.display_name or None, "capacity": room.capacity,
                     "building": room.building, "floor": room.floor})
    good, bad = parse_rows([{k: v for k, v in r.items() if v is not None} for r in rows])
    added, updated = _upsert_inputs(tables, tenant.id, good)
    audit.record(tables, clock, tenant_id=tenant.id, action="rooms.imported", actor=actor,
                 detail={"added": len(added), "updated": len(updated), "skipped": skipped + len(bad)})
    return {"added": added, "updated": updated, "skipped": skipped + len(bad), "errors": bad}


def update(tables, clock, tenant_id: str, email: str, change_: RoomUpdate, *, actor: str) -> dict:
    tenant = tenants.load_connected(tables, tenant_id)
    load(tables, tenant.id, email)  # NotFound for an unregistered room
    changes = change_.model_dump(exclude_unset=True)
    if "display_name" in changes and changes["display_name"] is None:
        changes["display_name"] = ""  # null clears it (RoomUpdate); the stored name is a string

    def updated(room: Room | None) -> Room | None:
        if room is None:
            return None  # removed meanwhile
        try:
            return Room.model_validate({**room.model_dump(), **changes})
        except ValidationError as exc:
            detail = {".".join(map(str, e["loc"])) or "room": e["msg"] for e in exc.errors()}
            raise InvalidInput("room change is invalid", fix="correct the fields listed in detail",
                               detail=detail) from None

    room = change(tables, tenant.id, email, updated) or load(tables, tenant.id, email)
    audit.record(tables, clock, tenant_id=tenant.id, action="room.updated", actor=actor,
                 detail={"room": room.email, "fields": sorted(changes)})
    return describe(room)


def remove(tables, clock, graph, tenant_id: str, email: str, *, actor: str) -> dict:
    """Forget a room: its Graph subscription, its stored events and its registry row."""
    tenant = tenants.load(tables, tenant_id)
    room = load(tables, tenant.id, email)
    quoted = room.email.replace("'", "''")  # OData string literal: O'Brien@... is a valid address
    owned = tables.query("Subscriptions", "sub", filter=f"tenant_id eq '{tenant.id}' and room_email eq '{quoted}'")
    subscription_ids = {row["RowKey"] for row in owned} | ({room.subscription_id} if room.subscription_id else set())
    for subscription_id in sorted(subscription_ids):
        if graph is not None:  # already gone, or consent revoked: Graph expires it within days anyway
            with contextlib.suppress(RoomCalError):
                graph.delete_subscription(tenant.id, subscription_id)
        tables.delete("Subscriptions", "sub", subscription_id)
    tables.delete("RoomSync", tenant.id, room.email)  # the sync engine's state: stop catch-up rounds
    for row in tables.query("Events", room.partition, select=["PartitionKey", "RowKey"]):
        tables.delete("Events", row["PartitionKey"], row["RowKey"])
    tables.delete("RoomChecks", tenant.id, room.email)
    tables.delete(TABLE, tenant.id, room.email)
    audit.record(tables, clock, tenant_id=tenant.id, action="room.removed", actor=actor, detail={"room": room.email})
    return {"removed": room.email}


def describe(room: Room, check: dict | None = None) -> dict:
    """A room as the admin page shows it: status, the reason, and the action that fixes it."""
    body = {"email": room.email, "display_name": room.display_name, "capacity": room.capacity,
            "building": room.building, "floor": room.floor, "sensor_id": room.sensor_id, "time_zone": room.time_zone,
            "sync_status": room.sync_status, "reason": room.sync_reason, "fix": room.sync_fix,
            "last_sync_at": room.last_sync_at.isoformat() if room.last_sync_at else None,
            "subscription_expires_at": room.subscription_expires_at.isoformat() if room.subscription_expires_at
            else None}
    check = check or {}
    body.update({"reason_code": check.get("code"), "checked_at": check.get("checked_at"),
                 "can_write": check.get("can_write")})
    if check.get("request_id"):
        body["graph_request_id"] = check["request_id"]
    return body


def listing(tables, tenant_id: str) -> dict:
    tenant = tenants.load(tables, tenant_id)
    checks = {row["RowKey"]: row for row in tables.query("RoomChecks", tenant.id)}
    rooms = [describe(room, checks.get(room.email)) for room in all_rooms(tables, tenant.id)]
    counts = {status.value: sum(1 for r in rooms if r["sync_status"] == status.value) for status in SyncStatus}
    return {"tenant_id": tenant.id, "status": tenant.status, "counts": counts, "rooms": rooms}
