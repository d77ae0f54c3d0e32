"""The tenant and rooms as occupancy needs them, read from the Tenants and Rooms tables through the shared models
(not through onboarding's internals)."""

from __future__ import annotations

from dataclasses import dataclass

from shared import keys
from shared.errors import NotFound
from shared.models import Room, Tenant, TenantStatus

TENANTS, ROOMS, ROOM_CHECKS = "Tenants", "Rooms", "RoomChecks"


def load_tenant(tables, tenant_id: str) -> Tenant:
    tenant_id = keys.normalise_tenant_id(tenant_id)
    try:
        tenant = Tenant.from_entity(tables.get(TENANTS, "tenant", tenant_id))
    except NotFound:
        tenant = None
    if tenant is None or tenant.status in (TenantStatus.pending_consent, TenantStatus.offboarded):
        raise NotFound(f"tenant {tenant_id} is not connected to RoomCal",
                       fix="complete onboarding (POST /api/tenants and the admin consent) first")
    return tenant


def all_tenants(tables) -> list[Tenant]:
    return [Tenant.from_entity(row) for row in tables.query(TENANTS, "tenant")]


@dataclass(frozen=True)
class RoomIndex:
    """A tenant's registered rooms by e-mail, and which room each sensor id belongs to."""

    rooms: dict[str, Room]
    by_sensor: dict[str, str]

    @classmethod
    def load(cls, tables, tenant_id: str) -> RoomIndex:
        rooms = {r.email: r for r in (Room.from_entity(row) for row in tables.query(ROOMS, tenant_id))}
        return cls(rooms, {r.sensor_id: r.email for r in rooms.values() if r.sensor_id})

    def with_sensor(self) -> list[Room]:
        return sorted((r for r in self.rooms.values() if r.sensor_id), key=lambda r: r.email)


def write_verified(tables, tenant_id: str) -> dict[str, bool]:
    """Rooms whose last live check proved RoomCal may decline in them (RoomChecks ``can_write`` true)."""
    return {row["RowKey"]: row.get("can_write") is True
            for row in tables.query(ROOM_CHECKS, tenant_id, select=["RowKey", "can_write"])}
