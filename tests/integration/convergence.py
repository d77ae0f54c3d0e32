"""Shared by the convergence tests: a room's Events rows against the emulator's ground truth,
field by field on the whitelist (bookkeeping columns left out)."""

from __future__ import annotations

from shared import keys
from shared.sync.event_rows import EVENTS
from shared.sync.privacy import normalise_event
from shared.sync.sync_lease import TABLE as ROOM_SYNC

BOOKKEEPING = {"PartitionKey", "RowKey", "_etag", "sync_generation", "synced_at"}


def _whitelisted(entity: dict) -> dict:
    return {k: v for k, v in entity.items() if k not in BOOKKEEPING}


def room_difference(ctl, tables, tid: str, room: str, hash_key: str) -> str:
    """'' when the room's rows equal the truth over its sync window; otherwise what differs."""
    state = tables.get(ROOM_SYNC, tid, room)
    truth = ctl.truth(tid, start=state["window_start"], end=state["window_end"], room=room)["rooms"][room]["events"]
    expected = {}
    for event in truth:
        entity = normalise_event(event, tenant_id=tid, room_email=room, hash_key=hash_key).to_entity()
        expected[entity["RowKey"]] = _whitelisted(entity)
    stored = {r["RowKey"]: _whitelisted(r) for r in tables.query(EVENTS, keys.room_partition(tid, room))}
    if stored == expected:
        return ""
    missing = sorted(expected.keys() - stored.keys())
    extra = sorted(stored.keys() - expected.keys())
    changed = {k: sorted(f for f in expected[k].keys() | stored[k].keys() if expected[k].get(f) != stored[k].get(f))
               for k in expected.keys() & stored.keys() if expected[k] != stored[k]}
    return f"{room}: missing rows {missing}, extra rows {extra}, differing fields {changed}"


def mismatches(ctl, tables, tid: str, rooms, hash_key: str) -> list[str]:
    """One line per room whose Events rows differ from the emulator's truth."""
    return [d for d in (room_difference(ctl, tables, tid, room, hash_key) for room in rooms) if d]
