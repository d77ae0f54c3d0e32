"""How far a hash-key rotation has got: rooms whose rows are keyed under the current key, and
those still to be re-keyed (their next round is a baseline; sync.py). docs/key-rotation.md."""

from __future__ import annotations

from collections import Counter

from shared.ports import TableStore
from shared.sync.sync import key_id
from shared.sync.sync_lease import TABLE as ROOM_SYNC


def rotation_status(tables: TableStore, settings) -> dict:
    current = key_id(settings.hash_key.get_secret_value())
    previous = key_id(settings.hash_key_previous.get_secret_value())
    counts: Counter = Counter()
    for row in tables.query(ROOM_SYNC, select=["hash_key_id", "active"]):
        if row.get("active") is False:
            counts["inactive"] += 1
        elif row.get("hash_key_id") == current:
            counts["current"] += 1
        else:
            counts["to_rekey"] += 1
    done = counts["to_rekey"] == 0
    return {"current_key_id": current, "previous_key_id": previous or None, "rooms_on_current_key": counts["current"],
            "rooms_to_rekey": counts["to_rekey"], "inactive_rooms": counts["inactive"],
            "previous_key_can_be_removed": bool(previous) and done}
