"""Who is calling an admin endpoint: an operator (a Functions key: every tenant) or a customer admin
signed in with Entra (one tenant, the ``tid`` of their validated ID token, with its app roles)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

ADMIN_ROLE = "RoomCal.Admin"  # app role: look and change
READER_ROLE = "RoomCal.Reader"  # app role: look only


class Need(StrEnum):
    """What an endpoint asks of its caller."""

    read = "read"  # RoomCal.Reader or RoomCal.Admin of the tenant
    change = "change"  # RoomCal.Admin of the tenant
    signed_in = "signed_in"  # any signed-in user of the tenant (the endpoint decides the rest)
    operator = "operator"  # a Functions key only


@dataclass(frozen=True)
class Principal:
    kind: str  # "operator" or "entra"
    tenant_id: str | None = None  # None for operators: every tenant
    object_id: str = ""
    username: str = ""
    name: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    csrf: str = ""
    session_id: str = ""
    expires_at: int = 0  # the session's end (Unix seconds)

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"

    @property
    def can_change(self) -> bool:
        return self.is_operator or ADMIN_ROLE in self.roles

    @property
    def can_read(self) -> bool:
        return self.can_change or READER_ROLE in self.roles

    @property
    def actor(self) -> str:
        """The audit actor: from the validated identity, never from a request header."""
        if self.is_operator:
            return "operator (Functions key)"
        return f"{self.username or self.object_id} (oid {self.object_id}, tenant {self.tenant_id})"[:256]

    def public(self) -> dict:
        return {"kind": self.kind, "tenant_id": self.tenant_id, "username": self.username, "name": self.name,
                "roles": sorted(self.roles), "can_change": self.can_change, "can_read": self.can_read}


OPERATOR = Principal(kind="operator")
