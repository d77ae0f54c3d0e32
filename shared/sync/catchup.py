"""The catch-up timer: one ``catchup`` hint per room the sync engine looks after, so a dropped
notification is repaired within one timer period (and the delta window rolls forward).

Rooms are those with a ``RoomSync`` row (handed over at least once) that are not marked
inactive, of tenants whose status is consented or active. Each room is only enqueued: the
rounds run on the queue, in parallel, so one slow or failing tenant never delays another.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from pydantic import ValidationError

from shared import metrics
from shared.log import log_event
from shared.messages import ROOM_CHANGES, RoomChange, parse_stamp
from shared.ports import Clock, MessageQueue, TableStore
from shared.sync.sync_lease import TABLE as ROOM_SYNC

log = logging.getLogger("roomcal.sync")

TENANTS = "Tenants"
SYNCING_TENANT_STATUSES = frozenset({"consented", "active"})


def syncing_tenants(tables: TableStore) -> set[str]:
    rows = tables.query(TENANTS, "tenant", select=["RowKey", "status"])
    return {row["RowKey"] for row in rows if row.get("status") in SYNCING_TENANT_STATUSES}


def enqueue_catch_up(tables: TableStore, queues: MessageQueue, clock: Clock, *, min_age_minutes: int = 0) -> Counter:
    """Enqueue a catch-up hint per active room; returns counts by outcome for the log.

    With ``min_age_minutes``, rooms whose last completed round started more recently are
    skipped (fewer Graph calls; a dropped notification is then repaired within the timer
    period plus that age)."""
    tenants, counts, now = syncing_tenants(tables), Counter(), clock.now()
    fresh_since = now - timedelta(minutes=min_age_minutes)
    for row in tables.query(ROOM_SYNC, select=["PartitionKey", "RowKey", "room", "active", "synced_through"]):
        if row["PartitionKey"] not in tenants:
            counts["skipped_tenant_not_active"] += 1
            continue
        if row.get("active") is False:
            counts["skipped_room_inactive"] += 1
            continue
        synced = parse_stamp(row.get("synced_through"))
        if synced is not None:
            metrics.sync_lag(row["PartitionKey"], row.get("room") or row["RowKey"], (now - synced).total_seconds())
        if min_age_minutes and synced is not None and synced > fresh_since:
            counts["skipped_recently_synced"] += 1
            continue
        try:
            hint = RoomChange(tenant=row["PartitionKey"], room=row.get("room") or row["RowKey"], reason="catchup",
                              at=now)
        except ValidationError:  # one unusable row must not stop the catch-up of every other room and tenant
            counts["skipped_invalid_row"] += 1
            continue
        queues.send(ROOM_CHANGES, hint.to_payload())
        counts["enqueued"] += 1
    log_event(log, "catch-up enqueued", count=counts["enqueued"],
              skipped=sum(n for k, n in counts.items() if k.startswith("skipped")))
    return counts
