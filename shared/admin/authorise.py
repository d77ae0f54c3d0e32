"""The one authorisation rule: may this principal do ``need`` on this tenant?

A signed-in admin acts only for the tenant in their token's ``tid``; another tenant's id answers 404
(as if it did not exist, so ids cannot be probed). Reading needs RoomCal.Reader or RoomCal.Admin,
changing needs RoomCal.Admin. Operators (Functions keys) may do anything to any tenant.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlparse

from shared import keys
from shared.admin.principal import ADMIN_ROLE, READER_ROLE, Need, Principal
from shared.errors import AccessDenied, InvalidInput, NotFound

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ROLE_FIX = (f"ask an Entra admin of your organisation to assign you the '{ADMIN_ROLE}' (change) or "
             f"'{READER_ROLE}' (look) app role: Entra admin centre > Enterprise applications > RoomCal > "
             "Users and groups; then sign in again")


def authorise(principal: Principal, need: Need, tenant_id: str | None) -> str | None:
    """The tenant id the caller may act for (normalised), or raise NotFound / AccessDenied."""
    tid = None
    if tenant_id is not None:
        try:
            tid = keys.normalise_tenant_id(tenant_id)
        except InvalidInput:
            if not principal.is_operator:
                raise _not_yours(tenant_id) from None
            raise
    if principal.is_operator:
        return tid
    if need is Need.operator:
        raise AccessDenied("this endpoint is for RoomCal's operators only", fix="call it with a Functions key")
    if tid is not None and tid != principal.tenant_id:
        raise _not_yours(tid)
    if need is Need.change and not principal.can_change:
        raise AccessDenied(f"changing RoomCal's set-up needs the '{ADMIN_ROLE}' app role", fix=_ROLE_FIX)
    if need is Need.read and not principal.can_read:
        raise AccessDenied(f"this needs the '{READER_ROLE}' or '{ADMIN_ROLE}' app role", fix=_ROLE_FIX)
    return tid


def _not_yours(tenant_id: str) -> NotFound:
    return NotFound(f"tenant {tenant_id[:64]} is not connected to RoomCal for your sign-in",
                    fix="you can only see the organisation you signed in with")


def check_csrf(principal: Principal, method: str, headers, public_base_url: str) -> None:
    """State-changing requests with a session cookie must echo the session's CSRF token in
    ``X-CSRF-Token`` and, when the browser sends an Origin, come from RoomCal's own origin."""
    if principal.is_operator or method.upper() in SAFE_METHODS:
        return
    sent = _header(headers, "x-csrf-token")
    if not sent or not principal.csrf or not hmac.compare_digest(sent.encode(), principal.csrf.encode()):
        raise AccessDenied("missing or wrong CSRF token",
                           fix="send the csrf value of GET /api/auth/me in the X-CSRF-Token header")
    origin = _header(headers, "origin")
    if origin and origin.rstrip("/") != _origin(public_base_url):
        raise AccessDenied("cross-origin request refused", fix="use RoomCal's admin page")


def _header(headers, name: str) -> str:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value or ""
    return ""


def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"
