"""A room's sync status, as operators see it: on its ``RoomSync`` row, mirrored onto ``Rooms``.

``RoomSync`` (PartitionKey tenant id, RowKey room e-mail; see sync_lease) is the sync
engine's own row. The registry row in ``Rooms`` belongs to onboarding; only the summary
fields of shared.models.Room are merged into it (never replaced), and only if it exists:

    sync_status (synced | not_synced | pending), sync_reason, sync_fix, last_sync_at,
    last_full_sync_at, event_count, sync_count, error_count, subscription_id,
    subscription_expires_at, object_id

Error texts come from RoomCalError messages, which never carry event content.
"""

from __future__ import annotations

import contextlib

from shared.errors import Conflict, NotFound, RoomCalError
from shared.messages import stamp
from shared.ports import Clock, Entity, TableStore
from shared.sync.sync_lease import FAILED_ROUNDS_LIMIT, room_row_key
from shared.sync.sync_lease import TABLE as ROOM_SYNC

ROOMS = "Rooms"
_MIRRORED = ("sync_status", "sync_reason", "sync_fix", "last_sync_at", "last_full_sync_at", "event_count",
             "sync_count", "error_count", "subscription_id", "subscription_expires_at", "object_id")


def load(tables: TableStore, tenant: str, room: str) -> Entity:
    """The room's RoomSync row; an empty one (not yet stored) when the room was never synced."""
    try:
        return tables.get(ROOM_SYNC, tenant, room_row_key(room))
    except NotFound:
        return {"PartitionKey": tenant, "RowKey": room_row_key(room), "room": room}


def update(tables: TableStore, tenant: str, room: str, **fields: object) -> None:
    """Merge status fields (no etag: these never decide anything) and mirror them onto Rooms."""
    entity = {"PartitionKey": tenant, "RowKey": room_row_key(room), **fields}
    try:
        tables.merge(ROOM_SYNC, entity)
    except NotFound:
        with contextlib.suppress(Conflict):
            tables.insert(ROOM_SYNC, {**entity, "room": room, "lease_holder": ""})
        tables.merge(ROOM_SYNC, entity)
    mirror_to_registry(tables, tenant, room, fields)


def mirror_to_registry(tables: TableStore, tenant: str, room: str, fields: dict) -> None:
    """Merge the summary fields among ``fields`` into the room's Rooms row, if it exists."""
    mirror = {k: v for k, v in fields.items() if k in _MIRRORED}
    if mirror:
        with contextlib.suppress(NotFound):
            tables.merge(ROOMS, {"PartitionKey": tenant, "RowKey": room_row_key(room), **mirror})


def record_failure(tables: TableStore, clock: Clock, tenant: str, room: str, exc: BaseException, *,
                   final: bool) -> None:
    """Note the error on the room; ``final`` (the message's last dequeue) or ``FAILED_ROUNDS_LIMIT``
    failed rounds in a row (counted across messages by the lease) flags the room not_synced with the reason."""
    code = exc.code if isinstance(exc, RoomCalError) else type(exc).__name__
    message = exc.message if isinstance(exc, RoomCalError) else "unexpected error; see the logs"
    fix = (exc.fix or "") if isinstance(exc, RoomCalError) else ""
    row = load(tables, tenant, room)
    fields: dict = {"last_error": code, "last_error_message": message, "last_error_at": stamp(clock.now()),
                    "error_count": int(row.get("error_count") or 0) + 1}
    if final or int(row.get("failed_rounds") or 0) >= FAILED_ROUNDS_LIMIT:
        fields.update(status="failed", sync_status="not_synced", sync_reason=message, sync_fix=fix)
    update(tables, tenant, room, **fields)
