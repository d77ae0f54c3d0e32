"""Rows of table ``Events`` for one room, written from Graph delta pages.

PartitionKey ``keys.room_partition(tenant, room)``; RowKey ``keys.event_row_key(hash_key, room,
graph event id)``: the Graph id itself is never stored. Each item passes through
privacy.normalise_event (the whitelist) before anything is written; ``@removed`` deletes the
row (deleting twice is fine). Every written row carries the ``sync_generation`` of the baseline
it belongs to, which lets a new baseline sweep what it did not see.

A row that does not fit (row_bounds) is written reduced; a batch the store still refuses is
written row by row, each refused row reduced, so one row never fails its page (a poison loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from shared import keys
from shared.errors import EntityRefused, InvalidInput
from shared.log import log_event
from shared.messages import parse_stamp, stamp
from shared.ports import Clock, Entity, TableStore
from shared.sync import row_bounds
from shared.sync.erasure import Pseudonyms
from shared.sync.privacy import is_removed, normalise_event

log = logging.getLogger("roomcal.sync")

EVENTS = "Events"
SWEEP_HEARTBEAT_ROWS = 1000  # a query page: a long sweep renews its lease as it goes
_BATCH_BYTES = 2 * 1024 * 1024  # estimated bytes per upsert_many call: well inside a batch's 4 MiB


@dataclass
class PageTotals:
    pages: int = 0
    upserted: int = 0
    removed: int = 0
    skipped: int = 0
    reduced: int = 0

    def as_fields(self) -> dict:
        return {"round_pages": self.pages, "round_upserted": self.upserted, "round_removed": self.removed,
                "round_skipped": self.skipped, "round_reduced": self.reduced}


class EventRows:
    def __init__(self, tables: TableStore, clock: Clock, *, hash_key: str, previous_hash_key: str = "",
                 on_written: Callable[[str, str], None] | None = None) -> None:
        self._tables, self._clock, self._hash_key = tables, clock, hash_key
        # During a key rotation the row an event had under the previous key is deleted as the event
        # is written under the current one, so no event ever has two rows (docs/key-rotation.md).
        self._previous = previous_hash_key if previous_hash_key and previous_hash_key != hash_key else ""
        self._on_written = on_written  # (tenant, room) after rows changed: analytics marks the room

    def write_page(self, tenant: str, room: str, items: Iterable[dict], generation: str, totals: PageTotals) -> None:
        """Normalise then write one page; within a page the last occurrence of an id wins."""
        writes: dict[str, Entity | None] = {}
        removed: set[str] = set()
        synced_at = stamp(self._clock.now())
        erased = Pseudonyms(self._tables, tenant, [self._hash_key, self._previous])
        rename = erased.rename if erased else None
        for item in items:
            event_id = item.get("id")
            if not isinstance(event_id, str) or not event_id:
                totals.skipped += 1
                continue
            row_key = keys.event_row_key(self._hash_key, room, event_id)
            if self._previous:
                writes.setdefault(keys.event_row_key(self._previous, room, event_id), None)
            if is_removed(item):
                writes[row_key] = None
                removed.add(row_key)
                continue
            try:
                event = normalise_event(item, tenant_id=tenant, room_email=room, hash_key=self._hash_key,
                                        rename=rename)
            except (InvalidInput, ValueError):  # an event Graph sent without a usable start/end
                totals.skipped += 1
                continue
            writes[row_key] = {**event.to_entity(), "sync_generation": generation, "synced_at": synced_at}
        upserts = [e for e in writes.values() if e is not None]
        self._upsert(tenant, room, upserts, totals)
        partition = keys.room_partition(tenant, room)
        gone = [(partition, row_key) for row_key, entity in writes.items() if entity is None]
        self._tables.delete_many(EVENTS, gone)
        totals.pages += 1
        totals.upserted += len(upserts)
        totals.removed += sum(1 for row_key in removed if writes.get(row_key, 0) is None)
        if writes and self._on_written is not None:
            self._on_written(tenant, room)

    def _upsert(self, tenant: str, room: str, rows: list[Entity], totals: PageTotals) -> None:
        bounded = [row if row_bounds.fits(row) else self._reduce(tenant, room, row, totals, "too_large")
                   for row in rows]
        for group in _by_size(bounded):
            try:
                self._tables.upsert_many(EVENTS, group)
            except EntityRefused:
                for row in group:
                    self._upsert_one(tenant, room, row, totals)

    def _upsert_one(self, tenant: str, room: str, row: Entity, totals: PageTotals) -> None:
        try:
            self._tables.upsert(EVENTS, row)
        except EntityRefused as exc:
            if row.get("reduced"):
                raise
            self._tables.upsert(EVENTS, self._reduce(tenant, room, row, totals, exc.detail.get("code", "refused")))

    def _reduce(self, tenant: str, room: str, row: Entity, totals: PageTotals, why: str) -> Entity:
        totals.reduced += 1
        log_event(log, "event row reduced", level=logging.WARNING, tenant=tenant, room=room, reason=why)
        return row_bounds.reduced(row)

    def sweep(self, tenant: str, room: str, generation: str, start: datetime, end: datetime, *,
              heartbeat: Callable[[], object] | None = None) -> int:
        """Delete rows of [start, end) that the complete baseline ``generation`` did not see, and
        return how many rows the room keeps. Rows outside the window are left to retention.
        ``heartbeat`` is called every ``SWEEP_HEARTBEAT_ROWS`` rows (the lease, renewed)."""
        partition, kept = keys.room_partition(tenant, room), 0
        rows = self._tables.query(EVENTS, partition, select=["RowKey", "sync_generation", "start_utc", "end_utc"])
        for seen, row in enumerate(rows, 1):
            if heartbeat is not None and seen % SWEEP_HEARTBEAT_ROWS == 0:
                heartbeat()
            begins, ends = parse_stamp(row.get("start_utc")), parse_stamp(row.get("end_utc"))
            unseen = row.get("sync_generation") != generation
            if unseen and (begins is None or ends is None or (begins < end and ends > start)):
                self._tables.delete(EVENTS, partition, row["RowKey"])
            else:
                kept += 1
        if self._on_written is not None:  # a finished baseline: rows swept, and the synced window moved
            self._on_written(tenant, room)
        return kept


def _by_size(rows: list[Entity]) -> Iterable[list[Entity]]:
    group, size = [], 0
    for row in rows:
        bytes_ = row_bounds.entity_bytes(row)
        if group and size + bytes_ > _BATCH_BYTES:
            yield group
            group, size = [], 0
        group.append(row)
        size += bytes_
    if group:
        yield group
