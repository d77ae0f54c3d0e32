"""Retention of sensor data: Occupancy room-days and stored monthly figures older than the tenant's retention
(TenantSettings.retention_days, the same period as Events) are deleted; so are queued-batch reports."""

from __future__ import annotations

import logging
from datetime import timedelta

from shared import keys
from shared.errors import RoomCalError
from shared.log import log_event
from shared.occupancy.directory import RoomIndex, all_tenants
from shared.occupancy.monthly import TABLE as MONTHLY
from shared.occupancy.monthly import month_of
from shared.occupancy.service import REPORTS
from shared.occupancy.store import OccupancyStore

log = logging.getLogger("roomcal.occupancy")


def purge_expired_occupancy(tables, clock) -> dict:
    counts = {"room_days": 0, "months": 0, "reports": 0, "failed_tenants": 0}
    store = OccupancyStore(tables)
    for tenant in all_tenants(tables):
        cutoff = clock.now() - timedelta(days=tenant.settings.retention_days)
        try:
            for room in RoomIndex.load(tables, tenant.id).rooms:
                counts["room_days"] += store.delete_before(tenant.id, room, cutoff.date())
            oldest = month_of(cutoff.date())
            flt = f"PartitionKey ge '{tenant.id}|' and PartitionKey lt '{tenant.id}|{oldest}'"
            for row in list(tables.query(MONTHLY, filter=flt, select=["PartitionKey", "RowKey"])):
                tables.delete(MONTHLY, row["PartitionKey"], row["RowKey"])
                counts["months"] += 1
            old = keys.inverted_time_key(cutoff)  # newest first: older rows sort after the cutoff's key
            for row in list(tables.query(REPORTS, tenant.id, filter=f"RowKey gt '{old}'", select=["RowKey"])):
                tables.delete(REPORTS, tenant.id, row["RowKey"])
                counts["reports"] += 1
        except RoomCalError as exc:
            counts["failed_tenants"] += 1
            log_event(log, "occupancy purge failed for a tenant", level=logging.WARNING, tenant=tenant.id,
                      error=exc.code)
    log_event(log, "occupancy purge done", **counts)
    return counts
