"""The admin use case behind ``POST /api/tenants/{id}/erasures``: erase one person of one tenant.

1. The person is registered as erased (sync/erasure.py): from now on every page the sync writes
   stores their pseudonym instead of their address.
2. Their audit entries (as actor) and consent links they created take the pseudonym.
3. Each room's existing Events rows are rewritten on the ``person-erasure`` queue, once now and
   once more after a sync lease has surely expired (a round that normalised a page before step 1
   may still be writing it).
4. An audit entry ``person.erased`` names the requester and the pseudonym, never the address.

Idempotent: erasing again finds the registry row, re-runs 2 and 3, and says ``already_erased``.
"""

from __future__ import annotations

from shared import keys
from shared.ops import audit
from shared.sync import erasure

ROOMS_TABLE = "Rooms"


def erase_person(services, tenant_id: str, email: str, *, actor: str) -> dict:
    tenant = keys.normalise_tenant_id(tenant_id)
    _known_tenant(services.tables, tenant)
    address = keys.normalise_email(email)
    hash_key = services.settings.hash_key.get_secret_value()
    subject, already = erasure.register(services.tables, hash_key, tenant, address, at=services.clock.now())
    pseudonym = erasure.pseudonym_for(subject)
    audit_changed = audit.rename_actor(services.tables, tenant_id=tenant, address=address, pseudonym=pseudonym)
    consent_changed = _rename_consent_links(services.tables, tenant, address, pseudonym)
    rooms = [row["RowKey"] for row in services.tables.query(ROOMS_TABLE, tenant, select=["RowKey"])]
    later = int(services.settings.sync_lease_seconds) + 60
    for room in rooms:
        job = erasure.RoomErasure(tenant=tenant, room=room, subject=subject).model_dump()
        services.queues.send(erasure.QUEUE, job)
        services.queues.send(erasure.QUEUE, job, delay_seconds=later)
    audit.record(services.tables, services.clock, tenant_id=tenant, action="person.erased", actor=actor,
                 detail={"pseudonym": pseudonym, "rooms": len(rooms), "already_erased": already})
    return {"tenant_id": tenant, "pseudonym": pseudonym, "already_erased": already, "rooms_queued": len(rooms),
            "audit_entries_changed": audit_changed, "consent_links_changed": consent_changed}


def _known_tenant(tables, tenant: str) -> None:
    from shared.onboarding import tenants  # the Tenants row's owner: NotFound names the fix

    tenants.load(tables, tenant)


def _rename_consent_links(tables, tenant: str, address: str, pseudonym: str) -> int:
    changed = 0
    for row in tables.query("ConsentRequests", "consent", filter=f"tenant_hint eq '{tenant}'"):
        if isinstance(row.get("created_by"), str) and row["created_by"].strip().lower() == address:
            tables.merge("ConsentRequests", {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"],
                                             "created_by": pseudonym})
            changed += 1
    return changed
