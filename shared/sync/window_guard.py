"""``@removed`` does not always mean "deleted": calendarView delta also sends it for events that
were added, updated or deleted *outside* the round's window
(https://learn.microsoft.com/graph/api/event-delta). A row wholly outside the window is history
RoomCal keeps on purpose (older baselines, retention), so such a removal must not delete it;
removals of rows that overlap the window (or that have no row) pass through.
"""

from __future__ import annotations

from datetime import datetime

from shared import keys
from shared.errors import NotFound
from shared.messages import parse_stamp
from shared.ports import TableStore
from shared.sync.event_rows import EVENTS
from shared.sync.privacy import is_removed


class WindowGuard:
    def __init__(self, tables: TableStore, *, hash_key: str) -> None:
        self._tables, self._hash_key = tables, hash_key

    def items(self, tenant: str, room: str, items: list[dict], start: datetime | None,
              end: datetime | None) -> list[dict]:
        """``items`` without the removals of rows lying wholly outside [start, end); unchanged
        when the window is not known."""
        if start is None or end is None:
            return items
        partition = keys.room_partition(tenant, room)
        return [i for i in items if not (is_removed(i) and self._outside(partition, room, i, start, end))]

    def _outside(self, partition: str, room: str, item: dict, start: datetime, end: datetime) -> bool:
        event_id = item.get("id")
        if not isinstance(event_id, str) or not event_id:
            return False
        try:
            row = self._tables.get(EVENTS, partition, keys.event_row_key(self._hash_key, room, event_id))
        except NotFound:
            return False
        begins, ends = parse_stamp(row.get("start_utc")), parse_stamp(row.get("end_utc"))
        if begins is None or ends is None:
            return False
        return (ends <= start and begins < start) or begins >= end  # calendarView's overlap, negated
