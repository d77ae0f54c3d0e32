"""The Tenants table: one row per Microsoft tenant (PartitionKey ``tenant``, RowKey tenant id).

Every call names the tenant it acts for; nothing here lists or touches another tenant's data.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from shared import keys
from shared.errors import InvalidInput, NotFound
from shared.etag_rows import change_model
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
    if tenant.status in (TenantStatus.pending_consent, TenantStatus.offboarding, TenantStatus.offboarded):
        raise NotFound(f"tenant {tenant.id} is {tenant.status}",
                       fix="complete the admin consent first (POST /api/tenants)")
    return tenant


def change(tables, tenant_id: str, build: Callable[[Tenant | None], Tenant | None]) -> Tenant | None:
    """Change the tenant's row: ``build(current or None)`` returns its new state (None: no change).
    An etag-conditional merge, retried from a fresh read, never a blind replace (etag_rows)."""
    return change_model(tables, TABLE, PARTITION, check_tenant_id(tenant_id), Tenant, build)


def all_tenants(tables) -> list[Tenant]:
    """For timers only (they act for each tenant in turn)."""
    return [Tenant.from_entity(row) for row in tables.query(TABLE, PARTITION)]


def mark_consented(tables, clock, tenant_id: str) -> Tenant:
    """Record consent; idempotent, and never moves an active tenant back."""
    now = clock.now()

    def consented(tenant: Tenant | None) -> Tenant | None:
        if tenant is not None and tenant.status == TenantStatus.offboarding:
            return None  # consent again once its data is gone (offboarded)
        tenant = tenant or Tenant(id=check_tenant_id(tenant_id), created_at=now, updated_at=now)
        status = TenantStatus.active if tenant.status == TenantStatus.active else TenantStatus.consented
        return tenant.model_copy(update={"status": status, "consented_at": now, "updated_at": now,
                                         "offboarded_at": None, "reason": ""})

    return change(tables, tenant_id, consented) or load(tables, tenant_id)


def flag(tables, clock, tenant_id: str, reason: str) -> None:
    """Put a reason a person must act on, on the tenant (e.g. consent revoked)."""
    load(tables, tenant_id)  # NotFound for an unknown tenant
    change(tables, tenant_id, lambda tenant: None if tenant is None or tenant.reason == reason
           else tenant.model_copy(update={"reason": reason, "updated_at": clock.now()}))


def noshow_release_enabled(tenant: Tenant) -> bool:
    return bool(tenant.settings.noshow_release)


def get_settings(tables, tenant_id: str) -> dict:
    return load_connected(tables, tenant_id).settings.model_dump(mode="json")


def update_settings(tables, clock, tenant_id: str, update: TenantSettingsUpdate, *, actor: str) -> dict:
    tenant = load_connected(tables, tenant_id)
    before: dict = {}

    def updated(current: Tenant | None) -> Tenant:
        current = current or tenant
        before["settings"] = current.settings
        try:
            new = update.apply(current.settings)
        except ValidationError as exc:
            detail = {".".join(map(str, e["loc"])) or "settings": e["msg"] for e in exc.errors()}
            raise InvalidInput("settings are invalid", fix="correct the fields listed in detail",
                               detail=detail) from None
        return current.model_copy(update={"settings": new, "updated_at": clock.now()})

    new = change(tables, tenant.id, updated).settings
    tenant = tenant.model_copy(update={"settings": before["settings"]})
    changed = sorted(k for k, v in new.model_dump().items() if tenant.settings.model_dump()[k] != v)
    audit.record(tables, clock, tenant_id=tenant.id, action="settings.changed", actor=actor,
                 detail={"changed": changed})
    body = {"settings": new.model_dump(mode="json"), "changed": changed}
    if "noshow_release" in changed and new.noshow_release:
        body["next_step"] = ("no-show release needs the 'Application Calendars.ReadWrite' role: run "
                             "'Continue setup' (POST /api/tenants/{id}/verify) to check write access")
    return body
