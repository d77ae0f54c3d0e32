"""Shared by the convergence tests: a room's Events rows against the emulator's ground truth,
field by field on the whitelist (bookkeeping columns left out).

The rows are compared over the room's synced window. A row lying wholly before the window is
history the sync keeps on purpose (a later baseline's window starts later, and its sweep leaves
older rows to retention): it is compared with the truth over its own time instead, so a leftover
row is still caught wherever it lies.
"""

from __future__ import annotations

from datetime import datetime

from shared import keys
from shared.sync.event_rows import EVENTS
from shared.sync.privacy import normalise_event
from shared.sync.sync_lease import TABLE as ROOM_SYNC

BOOKKEEPING = {"PartitionKey", "RowKey", "_etag", "sync_generation", "synced_at"}


def _whitelisted(entity: dict) -> dict:
    return {k: v for k, v in entity.items() if k not in BOOKKEEPING}


def _truth_rows(ctl, tid: str, room: str, hash_key: str, start, end) -> dict[str, dict]:
    truth = ctl.truth(tid, start=_iso(start), end=_iso(end), room=room)["rooms"][room]["events"]
    rows = {}
    for event in truth:
        entity = normalise_event(event, tenant_id=tid, room_email=room, hash_key=hash_key).to_entity()
        rows[entity["RowKey"]] = _whitelisted(entity)
    return rows


def _iso(moment) -> str:
    return moment if isinstance(moment, str) else moment.isoformat()


def room_difference(ctl, tables, tid: str, room: str, hash_key: str) -> str:
    """'' when the room's rows equal the truth (see the module's note on rows before the window);
    otherwise what differs."""
    state = tables.get(ROOM_SYNC, tid, room)
    window_start, window_end = datetime.fromisoformat(state["window_start"]), state["window_end"]
    expected = _truth_rows(ctl, tid, room, hash_key, window_start, window_end)
    stored = {r["RowKey"]: _whitelisted(r) for r in tables.query(EVENTS, keys.room_partition(tid, room))}
    history = {k: r for k, r in stored.items() if r["end_utc"] <= window_start and r["start_utc"] < window_start}
    if history:
        earliest = min(r["start_utc"] for r in history.values())
        before = _truth_rows(ctl, tid, room, hash_key, earliest, window_start)
        expected.update({k: before[k] for k in history if k in before})
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
