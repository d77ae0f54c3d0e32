"""Retention purge: delete Events rows that ended before the tenant's retention period
(TenantSettings.retention_days). Aggregates (RoomDaily) are not touched. One tenant's failure
is counted and logged, and the purge carries on with the others."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, timedelta

from shared import keys
from shared.errors import RoomCalError
from shared.log import log_event
from shared.messages import parse_stamp
from shared.models import Tenant, TenantSettings
from shared.ports import Clock, TableStore
from shared.sync.sync import EVENTS, TENANTS
from shared.sync.sync_lease import TABLE as ROOM_SYNC

log = logging.getLogger("roomcal.retention")


def purge_expired_events(tables: TableStore, clock: Clock) -> Counter:
    counts: Counter = Counter()
    rooms: dict[str, list[str]] = {}
    for row in tables.query(ROOM_SYNC, select=["PartitionKey", "room"]):
        if row.get("room"):
            rooms.setdefault(row["PartitionKey"], []).append(row["room"])
    for tenant, emails in rooms.items():
        cutoff = clock.now() - timedelta(days=_settings(tables, tenant).retention_days)
        try:
            for room in emails:
                counts["removed"] += _purge_room(tables, tenant, room, cutoff)
        except RoomCalError as exc:
            counts["failed_tenants"] += 1
            log_event(log, "retention purge failed for a tenant", level=logging.WARNING, tenant=tenant,
                      error=exc.code)
    log_event(log, "retention purge done", removed=counts["removed"], count=len(rooms))
    return counts


def _purge_room(tables: TableStore, tenant: str, room: str, cutoff) -> int:
    partition = keys.room_partition(tenant, room)
    removed = 0
    ended_before = f"end_utc lt datetime'{cutoff.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'"
    for row in list(tables.query(EVENTS, partition, filter=ended_before, select=["RowKey", "end_utc"])):
        ends = parse_stamp(row.get("end_utc"))
        if ends is not None and ends < cutoff:
            tables.delete(EVENTS, partition, row["RowKey"])
            removed += 1
    return removed


def _settings(tables: TableStore, tenant: str) -> TenantSettings:
    try:
        return Tenant.from_entity(tables.get(TENANTS, "tenant", tenant)).settings
    except Exception:  # a missing or unreadable tenant row: the documented defaults
        return TenantSettings()
