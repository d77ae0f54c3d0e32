"""The Tenants table: one row per Microsoft tenant (PartitionKey ``tenant``, RowKey tenant id).

Every call names the tenant it acts for; nothing here lists or touches another tenant's data.
"""

from __future__ import annotations

from pydantic import ValidationError

from shared import keys
from shared.errors import InvalidInput, NotFound
from shared.models import Tenant, TenantSettingsUpdate, TenantStatus
from shared.ops import audit

TABLE = "Tenants"
PARTITION = "tenant"


def check_tenant_id(value: str) -> str:
    """Route values: a tenant id is a GUID, compared lower-case."""
    return keys.normalise_tenant_id(value)


def load(tables, tenant_id: str) -> Tenant:
    tenant_id = check_tenant_id(tenant_id)
    try:
        return Tenant.from_entity(tables.get(TABLE, PARTITION, tenant_id))
    except NotFound:
        raise NotFound(f"tenant {tenant_id} is not connected to RoomCal",
                       fix="start onboarding with POST /api/tenants and complete the admin consent") from None


def load_connected(tables, tenant_id: str) -> Tenant:
    """A tenant that has consented and is not offboarded (what every room operation needs)."""
    tenant = load(tables, tenant_id)
    if tenant.status in (TenantStatus.pending_consent, TenantStatus.offboarded):
        raise NotFound(f"tenant {tenant.id} is {tenant.status}",
                       fix="complete the admin consent first (POST /api/tenants)")
    return tenant


def save(tables, tenant: Tenant) -> None:
    tables.upsert(TABLE, tenant.to_entity())


def all_tenants(tables) -> list[Tenant]:
    """For timers only (they act for each tenant in turn)."""
    return [Tenant.from_entity(row) for row in tables.query(TABLE, PARTITION)]


def mark_consented(tables, clock, tenant_id: str) -> Tenant:
    """Record consent; idempotent, and never moves an active tenant back."""
    now = clock.now()
    try:
        tenant = load(tables, tenant_id)
    except NotFound:
        tenant = Tenant(id=tenant_id, created_at=now, updated_at=now)
    status = TenantStatus.active if tenant.status == TenantStatus.active else TenantStatus.consented
    tenant = tenant.model_copy(update={"status": status, "consented_at": now, "updated_at": now,
                                       "offboarded_at": None, "reason": ""})
    save(tables, tenant)
    return tenant


def flag(tables, clock, tenant_id: str, reason: str) -> None:
    """Put a reason a person must act on, on the tenant (e.g. consent revoked)."""
    tenant = load(tables, tenant_id)
    if tenant.reason != reason:
        save(tables, tenant.model_copy(update={"reason": reason, "updated_at": clock.now()}))


def noshow_release_enabled(tenant: Tenant) -> bool:
    return bool(tenant.settings.noshow_release)


def get_settings(tables, tenant_id: str) -> dict:
    return load_connected(tables, tenant_id).settings.model_dump(mode="json")


def update_settings(tables, clock, tenant_id: str, update: TenantSettingsUpdate, *, actor: str) -> dict:
    tenant = load_connected(tables, tenant_id)
    try:
        new = update.apply(tenant.settings)
    except ValidationError as exc:
        detail = {".".join(map(str, e["loc"])) or "settings": e["msg"] for e in exc.errors()}
        raise InvalidInput("settings are invalid", fix="correct the fields listed in detail", detail=detail) from None
    save(tables, tenant.model_copy(update={"settings": new, "updated_at": clock.now()}))
    changed = sorted(k for k, v in new.model_dump().items() if tenant.settings.model_dump()[k] != v)
    audit.record(tables, clock, tenant_id=tenant.id, action="settings.changed", actor=actor,
                 detail={"changed": changed})
    body = {"settings": new.model_dump(mode="json"), "changed": changed}
    if "noshow_release" in changed and new.noshow_release:
        body["next_step"] = ("no-show release needs the 'Application Calendars.ReadWrite' role: run "
                             "'Continue setup' (POST /api/tenants/{id}/verify) to check write access")
    return body
