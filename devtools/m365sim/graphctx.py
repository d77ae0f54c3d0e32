"""The per-request Graph pipeline: token validation, faults, throttling, RBAC and mailbox resolution."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import jwt
from werkzeug.wrappers import Request

from . import graph_errors as ge
from . import rbac
from .world import Mailbox, Tenant

if TYPE_CHECKING:  # pragma: no cover
    from .server import Emulator


class GraphContext:
    def __init__(self, sim: Emulator, request: Request) -> None:
        self.sim, self.request, self.world = sim, request, sim.world
        self.claims: dict = {}
        self.tenant: Tenant | None = None
        self._slots: list[tuple[str, str]] = []

    # --- authentication ------------------------------------------------------------------------------------
    def authenticate(self) -> None:
        header = self.request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise ge.invalid_token("Access token is empty.")
        try:
            claims = self.sim.tokens.validate_access_token(header[7:].strip())
        except jwt.ExpiredSignatureError as exc:
            raise ge.invalid_token("Lifetime validation failed, the token is expired.") from exc
        except jwt.InvalidAudienceError as exc:
            raise ge.invalid_token("Access token validation failure. Invalid audience.") from exc
        except jwt.PyJWTError as exc:
            raise ge.invalid_token("Access token validation failure.") from exc
        tenant = self.world.tenant(claims.get("tid", ""))
        if tenant is None:
            raise ge.invalid_token("Access token validation failure. Invalid tenant.")
        self.claims, self.tenant = claims, tenant

    @property
    def app_id(self) -> str:
        return self.claims.get("appid", "")

    @property
    def roles(self) -> list[str]:
        return list(self.claims.get("roles") or [])

    def require_role(self, *any_of: str) -> None:
        if not set(any_of) & set(self.roles):
            raise ge.access_denied_permissions()

    # --- mailbox access -------------------------------------------------------------------------------------
    def mailbox(self, ident: str, write: bool = False, access=rbac.access) -> Mailbox:
        """Resolve ``/users/{ident}``, then apply mailbox faults, throttling, latency and RBAC, in that order
        (``access``: the RBAC check of the surface, calendars unless said otherwise)."""
        tenant = self.tenant
        assert tenant is not None
        with self.world.lock:
            mbx = tenant.mailbox(ident)
        if mbx is None:
            raise ge.invalid_user(ident)
        burst = self.sim.faults.take_burst(mbx.email)
        if burst:
            raise ge.injected_burst(burst.status, burst.retry_after)
        self._slots.append(self.sim.throttle.acquire(self.app_id, mbx.email))
        latency = self.world.settings.latency_ms
        if latency:
            time.sleep(latency / 1000)
        if not mbx.exchange_enabled:
            raise ge.mailbox_not_enabled()
        with self.world.lock:
            level = access(self.world, tenant, self.app_id, self.roles, mbx)
        if level == "none":
            raise ge.access_denied()
        if write and level != "write":
            raise ge.GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return mbx

    def release(self) -> None:
        for slot in self._slots:
            self.sim.throttle.release(slot)
        self._slots.clear()

    # --- request helpers ------------------------------------------------------------------------------------
    def prefer(self) -> dict[str, str]:
        """Parse ``Prefer`` (comma-separated, possibly repeated) into name → value."""
        out: dict[str, str] = {}
        for raw in self.request.headers.getlist("Prefer"):
            for part in raw.split(","):
                if not part.strip():
                    continue
                name, _, value = part.strip().partition("=")
                out[name.strip().lower()] = value.strip().strip('"')
        return out

    def url(self, path: str) -> str:
        return f"{self.sim.base_url}/v1.0{path}"
