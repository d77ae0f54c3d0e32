"""'Synchronize room calendars': mark the tenant active and hand every verified room to the sync engine.

One ``room-changes`` message per verified room, ``{"tenant", "room", "reason": "initial", "at"}``
(the sync engine's queue). Safe to repeat: rooms already synchronising get no second
initial hint, and messages are hints the sync engine handles idempotently anyway.
"""

from __future__ import annotations

from shared.errors import Conflict
from shared.models import TenantStatus
from shared.onboarding import rooms, tenants, verification
from shared.ops import audit

ROOM_CHANGES = "room-changes"


def start_sync(tables, queues, clock, tenant_id: str, *, actor: str) -> dict:
    tenant = tenants.load_connected(tables, tenant_id)
    if tenant.reason.startswith("consent revoked"):
        raise Conflict(f"tenant {tenant.id}: {tenant.reason}",
                       fix="have a Microsoft admin grant consent again, then 'Continue setup'")
    checks = {row["RowKey"]: row.get("code") for row in tables.query(verification.CHECKS, tenant.id)}
    if not checks:
        raise Conflict("no room has been verified yet",
                       fix="register rooms, then choose 'Continue setup' (POST /api/tenants/{tenant}/verify)")
    now = clock.now()
    queued, already, not_ready = [], [], []
    for room in rooms.all_rooms(tables, tenant.id):
        if checks.get(room.email) != "ready":
            not_ready.append({"email": room.email, "reason": room.sync_reason, "fix": room.sync_fix})
        elif room.last_sync_at is not None:
            already.append(room.email)
        else:
            queues.send(ROOM_CHANGES, {"tenant": tenant.id, "room": room.email, "reason": "initial",
                                       "at": now.isoformat()})
            queued.append(room.email)
    if tenant.status != TenantStatus.active:
        tenants.change(tables, tenant.id, lambda t: t.model_copy(update={"status": TenantStatus.active,
                                                                          "updated_at": now})
                       if t is not None and t.status == TenantStatus.consented else None)
        audit.record(tables, clock, tenant_id=tenant.id, action="sync.started", actor=actor,
                     detail={"queued": len(queued), "not_ready": len(not_ready)})
    return {"tenant_id": tenant.id, "status": "active", "queued": queued, "already_syncing": already,
            "not_ready": not_ready,
            "note": "rooms registered or fixed later are picked up automatically once they verify"}
