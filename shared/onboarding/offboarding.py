"""Offboarding that finishes: the tenant is marked first, the deleting runs on a queue.

1. ``start`` (the HTTP request): the Tenants row becomes ``offboarding`` (an etag-conditional
   change, audited) and one ``tenant-offboarding`` message is queued; it answers at once. From
   here every trigger ignores the tenant: catch-up and renewal only look at consented/active
   tenants, a delta round stops on a tenant that is not, room operations refuse it.
2. ``run_step`` (the queue): stage ``subscriptions`` deletes the tenant's Graph subscriptions and
   their rows; stage ``rows`` deletes every row the tenant owns, table by table, in entity group
   transactions of 100 per partition (TableStore.delete_many), and hands over to a fresh message
   whenever its time budget is spent, so no invocation runs long and a crash resumes where it was
   (deleting is idempotent); the count so far is on the Tenants row (``offboarding_rows_deleted``).
   Stage ``sweep`` runs once more after a sync lease has surely expired, for a delta round that
   was already writing when the tenant was marked; then the tenant is ``offboarded``.
3. ``clean_leftovers`` (the retention timer) deletes whatever an offboarded tenant still owns.

Kept: the Tenants row (status, dates, no settings) and the whole Audit partition: the trail of
who did what is not deleted by the person being audited.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from shared import keys
from shared.errors import InvalidInput, NotFound, RoomCalError
from shared.etag_rows import change_row
from shared.log import log_event
from shared.models import Tenant, TenantStatus
from shared.onboarding import tenants
from shared.ops import audit

log = logging.getLogger("roomcal.offboarding")

QUEUE = "tenant-offboarding"
# tables whose PartitionKey is the tenant id (Audit is kept)
TENANT_PARTITIONED = ("Rooms", "RoomChecks", "Verifications", "RoomSync",
                      "AnalyticsRooms", "AnalyticsDirty", "Departments",  # analytics state (blobs: use_cases)
                      "OccupancyIngest", "OccupancyDirty",  # occupancy state
                      "AdminSignOuts")  # signed-out admin sessions
# tables whose PartitionKey starts with "<tenant id>|" (per room, per room-day, per month)
TENANT_PREFIXED = ("Events", "Occupancy", "RoomDaily", "RoomMonthly", "OccupancyMonthly", "NoShowReleases")
STEP_SECONDS = 60.0  # work per queue message before handing over to the next
_KEY_COLUMNS = ["PartitionKey", "RowKey"]


class OffboardingStep(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tenant: str
    stage: Literal["subscriptions", "rows", "sweep"] = "subscriptions"
    actor: str = "unknown"
    at: datetime

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return tenants.check_tenant_id(value)


def start(tables, queues, clock, tenant_id: str, *, actor: str) -> dict:
    """Mark the tenant offboarding and queue the deleting; idempotent (a repeat re-queues)."""
    tenant = tenants.load(tables, tenant_id)
    if tenant.status == TenantStatus.offboarded:
        return _progress(tables, tenant.id)
    now = clock.now()
    tenants.change(tables, tenant.id, lambda t: None if t is None or t.status == TenantStatus.offboarding
                   else t.model_copy(update={"status": TenantStatus.offboarding, "updated_at": now,
                                             "reason": "offboarding: deleting data"}))
    if tenant.status != TenantStatus.offboarding:
        audit.record(tables, clock, tenant_id=tenant.id, action="tenant.offboarding_started", actor=actor)
    _send(queues, OffboardingStep(tenant=tenant.id, actor=actor[:256], at=now))
    return _progress(tables, tenant.id)


def run_step(tables, queues, clock, graph, payload: object, *, budget_seconds: float = STEP_SECONDS,
             sweep_delay_seconds: int = 180, monotonic: Callable[[], float] = time.monotonic) -> str:
    """One ``tenant-offboarding`` message; returns what it did."""
    try:
        step = OffboardingStep.model_validate(payload)
    except ValidationError:
        raise InvalidInput("tenant-offboarding message is invalid") from None
    try:
        tenant = tenants.load(tables, step.tenant)
    except NotFound:
        return "unknown_tenant"
    if tenant.status != TenantStatus.offboarding:
        return "not_offboarding"  # finished already (a duplicate message), or consented again
    if step.stage == "subscriptions":
        deleted, failed = delete_subscriptions(tables, graph, tenant.id)
        _note(tables, tenant.id, offboarding_subscriptions_deleted=deleted, offboarding_subscriptions_failed=failed)
        _send(queues, step.model_copy(update={"stage": "rows"}))
        return "subscriptions_deleted"
    deadline = monotonic() + budget_seconds
    counts = delete_tenant_rows(tables, tenant.id, until=lambda: monotonic() >= deadline)
    _note(tables, tenant.id, add_rows=sum(counts.values()))
    if counts.get("_unfinished"):
        _send(queues, step)  # a fresh message resumes this stage
        return "handed_over"
    if step.stage == "rows":
        _send(queues, step.model_copy(update={"stage": "sweep"}), delay_seconds=sweep_delay_seconds)
        return "rows_deleted"
    _finish(tables, clock, tenant, step.actor)
    return "offboarded"


def delete_subscriptions(tables, graph, tenant_id: str) -> tuple[int, int]:
    ids = {row["RowKey"] for row in tables.query("Subscriptions", "sub", filter=f"tenant_id eq '{tenant_id}'",
                                                 select=["RowKey"])}
    ids |= {row["subscription_id"] for row in tables.query("Rooms", tenant_id, select=["subscription_id"])
            if row.get("subscription_id")}
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
    tables.delete_many("Subscriptions", [("sub", i) for i in sorted(ids)])
    return deleted, failed


def delete_tenant_rows(tables, tenant_id: str, *, until: Callable[[], bool] = lambda: False) -> Counter:
    """Delete every row the tenant owns except its Tenants row and its Audit trail, in batches;
    stops early when ``until()`` turns true (then ``counts["_unfinished"]`` is 1)."""
    tenant_id = keys.normalise_tenant_id(tenant_id)
    counts: Counter = Counter()
    sources = [(t, lambda t=t: tables.query(t, tenant_id, select=_KEY_COLUMNS)) for t in TENANT_PARTITIONED]
    prefix = f"PartitionKey ge '{tenant_id}|' and PartitionKey lt '{tenant_id}}}'"
    sources += [(t, lambda t=t: tables.query(t, filter=prefix, select=_KEY_COLUMNS)) for t in TENANT_PREFIXED]
    sources.append(("ConsentRequests", lambda: tables.query("ConsentRequests", "consent", select=_KEY_COLUMNS,
                                                            filter=f"tenant_hint eq '{tenant_id}'")))
    for table, rows in sources:
        chunk: list[tuple[str, str]] = []
        for row in rows():
            chunk.append((row["PartitionKey"], row["RowKey"]))
            if len(chunk) >= 1000:
                counts[table] += tables.delete_many(table, chunk)
                chunk = []
                if until():
                    counts["_unfinished"] = 1
                    return counts
        counts[table] += tables.delete_many(table, chunk)
    return counts


def clean_leftovers(tables, clock) -> Counter:
    """Retention's part: delete what offboarded tenants still own (a crash, a late write)."""
    counts: Counter = Counter()
    for row in tables.query(tenants.TABLE, tenants.PARTITION, select=["RowKey", "status"]):
        if row.get("status") == TenantStatus.offboarded:
            removed = sum(n for k, n in delete_tenant_rows(tables, row["RowKey"]).items() if not k.startswith("_"))
            counts["rows"] += removed
            counts["tenants"] += 1 if removed else 0
    log_event(log, "offboarding leftovers removed", count=counts["rows"])
    return counts


def progress(tables, tenant_id: str) -> dict:
    return _progress(tables, tenants.check_tenant_id(tenant_id))


def _finish(tables, clock, tenant: Tenant, actor: str) -> None:
    now = clock.now()
    tenants.change(tables, tenant.id, lambda t: Tenant(
        id=tenant.id, status=TenantStatus.offboarded, created_at=tenant.created_at, updated_at=now,
        consented_at=tenant.consented_at, offboarded_at=now, reason="offboarded: all data deleted"))
    row = tables.get(tenants.TABLE, tenants.PARTITION, tenant.id)
    audit.record(tables, clock, tenant_id=tenant.id, action="tenant.offboarded", actor=actor,
                 detail={"rows_deleted": int(row.get("offboarding_rows_deleted") or 0),
                         "subscriptions_deleted": int(row.get("offboarding_subscriptions_deleted") or 0),
                         "subscriptions_failed": int(row.get("offboarding_subscriptions_failed") or 0)})
    log_event(log, "tenant offboarded", tenant=tenant.id)


def _note(tables, tenant_id: str, *, add_rows: int = 0, **fields: object) -> None:
    def noted(row):
        if row is None:
            return None
        rows = int(row.get("offboarding_rows_deleted") or 0) + add_rows
        return {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"], **fields,
                "offboarding_rows_deleted": rows}

    change_row(tables, tenants.TABLE, tenants.PARTITION, tenant_id, noted, known=())


def _progress(tables, tenant_id: str) -> dict:
    row = tables.get(tenants.TABLE, tenants.PARTITION, tenant_id)
    body = {"tenant_id": tenant_id, "status": row.get("status"),
            "rows_deleted": int(row.get("offboarding_rows_deleted") or 0),
            "subscriptions_deleted": int(row.get("offboarding_subscriptions_deleted") or 0)}
    if row.get("status") == TenantStatus.offboarded:
        body["next_step"] = ("optionally remove RoomCal's enterprise application and the Exchange role assignment "
                             "(Remove-ManagementRoleAssignment) in the tenant")
    return body


def _send(queues, step: OffboardingStep, *, delay_seconds: int = 0) -> None:
    queues.send(QUEUE, step.model_dump(mode="json"), delay_seconds=delay_seconds)
