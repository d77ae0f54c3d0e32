"""The Tenants table: one row per Microsoft tenant (PartitionKey ``tenant``, RowKey tenant id)."""

from __future__ import annotations

import json
import uuid

from shared.errors import InvalidInput, NotFound

TABLE = "Tenants"
_PARTITION = "tenant"


def get(tables, tenant_id: str) -> dict:
    try:
        return tables.get(TABLE, _PARTITION, tenant_id)
    except NotFound:
        raise NotFound(f"tenant {tenant_id} is not connected to RoomCal",
                       fix="start onboarding with POST /api/tenants and complete the admin consent") from None


def mark_consented(tables, clock, tenant_id: str) -> dict:
    """Record consent; idempotent, and never moves an active tenant back."""
    now = clock.now().isoformat()
    try:
        row = tables.get(TABLE, _PARTITION, tenant_id)
    except NotFound:
        row = {"PartitionKey": _PARTITION, "RowKey": tenant_id, "created_at": now}
    row.pop("_etag", None)
    if row.get("status") != "active":
        row["status"] = "consented"
    row.update({"consented_at": now, "updated_at": now, "reason": ""})
    tables.upsert(TABLE, row)
    return row


def noshow_release_enabled(row: dict) -> bool:
    settings = row.get("settings")
    if isinstance(settings, str) and settings:
        settings = json.loads(settings)
    return bool((settings or {}).get("noshow_release", False))


def check_tenant_id(value: str) -> str:
    """Route values: a tenant id is a GUID, compared lower-case."""
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        raise InvalidInput(f"tenant id {str(value)[:64]!r} is not a GUID",
                           fix="use the tenant id RoomCal showed after consent") from None
