"""Offboarding: delete a tenant's Graph subscriptions and every row it owns, then audit it.

What is kept: the Tenants row (status ``offboarded``, no settings) and one Audit entry, so
an operator can see when and by whom the tenant was removed.
"""

from __future__ import annotations

import logging

from shared.errors import RoomCalError
from shared.log import log_event
from shared.models import Tenant, TenantStatus
from shared.onboarding import rooms, tenants
from shared.ops import audit

log = logging.getLogger("roomcal.offboarding")

# tables whose PartitionKey is the tenant id
TENANT_PARTITIONED = ("Rooms", "RoomChecks", "Verifications", "RoomSync", "Audit",
                      "AnalyticsRooms", "AnalyticsDirty", "Departments",  # analytics state (blobs: use_cases)
                      "OccupancyIngest", "OccupancyDirty")  # occupancy state
# tables whose PartitionKey starts with "<tenant id>|" (per room, per room-day, per month)
TENANT_PREFIXED = ("Events", "Occupancy", "RoomDaily", "RoomMonthly", "OccupancyMonthly", "NoShowReleases")


def offboard(tables, clock, graph, tenant_id: str, *, actor: str) -> dict:
    tenant = tenants.load(tables, tenant_id)
    deleted_subscriptions, failed = _delete_subscriptions(tables, graph, tenant.id)
    counts = {}
    for table in TENANT_PARTITIONED:
        counts[table] = _delete_rows(tables, table, tables.query(table, tenant.id, select=["PartitionKey", "RowKey"]))
    prefix_filter = f"PartitionKey ge '{tenant.id}|' and PartitionKey lt '{tenant.id}}}'"
    for table in TENANT_PREFIXED:
        rows = tables.query(table, filter=prefix_filter, select=["PartitionKey", "RowKey"])
        counts[table] = _delete_rows(tables, table, rows)
    counts["ConsentRequests"] = _delete_rows(
        tables, "ConsentRequests", tables.query("ConsentRequests", "consent", filter=f"tenant_hint eq '{tenant.id}'"))
    now = clock.now()
    tenants.save(tables, Tenant(id=tenant.id, status=TenantStatus.offboarded, created_at=tenant.created_at,
                                updated_at=now, consented_at=tenant.consented_at, offboarded_at=now,
                                reason="offboarded: all data deleted"))
    audit.record(tables, clock, tenant_id=tenant.id, action="tenant.offboarded", actor=actor,
                 detail={"subscriptions_deleted": deleted_subscriptions, "subscriptions_failed": failed,
                         "rows_deleted": counts})
    return {"tenant_id": tenant.id, "status": "offboarded", "subscriptions_deleted": deleted_subscriptions,
            "subscriptions_failed": failed, "rows_deleted": counts,
            "next_step": "optionally remove RoomCal's enterprise application and the Exchange role assignment "
                         "(Remove-ManagementRoleAssignment) in the tenant"}


def _delete_subscriptions(tables, graph, tenant_id: str) -> tuple[int, int]:
    ids = {row["RowKey"] for row in tables.query("Subscriptions", "sub", filter=f"tenant_id eq '{tenant_id}'")}
    ids |= {room.subscription_id for room in rooms.all_rooms(tables, tenant_id) if room.subscription_id}
    deleted = failed = 0
    for subscription_id in sorted(ids):
        try:
            if graph is not None:
                graph.delete_subscription(tenant_id, subscription_id)
            deleted += 1
        except RoomCalError as exc:  # gone already, or consent revoked: Graph expires it within days
            failed += 1
            log_event(log, "could not delete subscription at Graph", level=logging.WARNING, tenant=tenant_id,
                      code=exc.code)
        tables.delete("Subscriptions", "sub", subscription_id)
    return deleted, failed


def _delete_rows(tables, table: str, rows) -> int:
    keys_ = [(row["PartitionKey"], row["RowKey"]) for row in rows]
    for partition_key, row_key in keys_:
        tables.delete(table, partition_key, row_key)
    return len(keys_)
