"""Rows of table ``Events`` for one room, written from Graph delta pages.

PartitionKey ``keys.room_partition(tenant, room)``; RowKey ``keys.event_row_key(hash_key, room,
graph event id)``: the Graph id itself is never stored. Each item passes through
privacy.normalise_event (the whitelist) before anything is written; ``@removed`` deletes the
row (deleting twice is fine). Every written row carries the ``sync_generation`` of the baseline
it belongs to, which lets a new baseline sweep what it did not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from shared import keys
from shared.errors import InvalidInput
from shared.messages import parse_stamp, stamp
from shared.ports import Clock, Entity, TableStore
from shared.sync.privacy import is_removed, normalise_event

EVENTS = "Events"


@dataclass
class PageTotals:
    pages: int = 0
    upserted: int = 0
    removed: int = 0
    skipped: int = 0

    def as_fields(self) -> dict:
        return {"round_pages": self.pages, "round_upserted": self.upserted, "round_removed": self.removed,
                "round_skipped": self.skipped}


class EventRows:
    def __init__(self, tables: TableStore, clock: Clock, *, hash_key: str,
                 on_written: Callable[[str, str], None] | None = None) -> None:
        self._tables, self._clock, self._hash_key = tables, clock, hash_key
        self._on_written = on_written  # (tenant, room) after rows changed: analytics marks the room

    def write_page(self, tenant: str, room: str, items: Iterable[dict], generation: str, totals: PageTotals) -> None:
        """Normalise then write one page; within a page the last occurrence of an id wins."""
        writes: dict[str, Entity | None] = {}
        synced_at = stamp(self._clock.now())
        for item in items:
            event_id = item.get("id")
            if not isinstance(event_id, str) or not event_id:
                totals.skipped += 1
                continue
            row_key = keys.event_row_key(self._hash_key, room, event_id)
            if is_removed(item):
                writes[row_key] = None
                continue
            try:
                event = normalise_event(item, tenant_id=tenant, room_email=room, hash_key=self._hash_key)
            except (InvalidInput, ValueError):  # an event Graph sent without a usable start/end
                totals.skipped += 1
                continue
            writes[row_key] = {**event.to_entity(), "sync_generation": generation, "synced_at": synced_at}
        upserts = [e for e in writes.values() if e is not None]
        self._tables.upsert_many(EVENTS, upserts)
        partition = keys.room_partition(tenant, room)
        for row_key, entity in writes.items():
            if entity is None:
                self._tables.delete(EVENTS, partition, row_key)
        totals.pages += 1
        totals.upserted += len(upserts)
        totals.removed += len(writes) - len(upserts)
        if writes and self._on_written is not None:
            self._on_written(tenant, room)

    def sweep(self, tenant: str, room: str, generation: str, start: datetime, end: datetime) -> int:
        """Delete rows of [start, end) that the complete baseline ``generation`` did not see, and
        return how many rows the room keeps. Rows outside the window are left to retention."""
        partition, kept = keys.room_partition(tenant, room), 0
        for row in self._tables.query(EVENTS, partition, select=["RowKey", "sync_generation", "start_utc", "end_utc"]):
            begins, ends = parse_stamp(row.get("start_utc")), parse_stamp(row.get("end_utc"))
            unseen = row.get("sync_generation") != generation
            if unseen and (begins is None or ends is None or (begins < end and ends > start)):
                self._tables.delete(EVENTS, partition, row["RowKey"])
            else:
                kept += 1
        if self._on_written is not None:  # a finished baseline: rows swept, and the synced window moved
            self._on_written(tenant, room)
        return kept
