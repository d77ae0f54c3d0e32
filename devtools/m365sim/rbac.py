"""Exchange RBAC for Applications (learn.microsoft.com/exchange/permissions-exo/application-rbac): Entra grants
plus role assignments limited by management scopes.

Entra application permissions come from the token's ``roles`` (tenant-wide, fixed when the token was issued).
Role assignments are evaluated per request against the mailbox, after ``settings.rbac_delay_s`` of propagation.
"""

from __future__ import annotations

from datetime import timedelta

from .world import Mailbox, Scope, Tenant, World

READ_ROLES = {"Calendars.Read", "Calendars.ReadBasic", "Calendars.ReadWrite"}
WRITE_ROLES = {"Calendars.ReadWrite"}
RBAC_ROLES = {
    "Application Calendars.Read": "read",
    "Application Calendars.ReadWrite": "write",
    "Application Exchange Full Access": "write",
}


def scope_matches(tenant: Tenant, scope: Scope, mbx: Mailbox) -> bool:
    if scope.member_of_group:
        group = tenant.groups.get(scope.member_of_group.lower())
        if group is None or mbx.email.lower() not in group.members:  # only direct members count
            return False
    if scope.country and mbx.country.upper() != scope.country.upper():
        return False
    return not (scope.recipient_type and mbx.recipient_type != scope.recipient_type)


def access(world: World, tenant: Tenant, app_id: str, token_roles: list[str], mbx: Mailbox) -> str:
    """'write', 'read' or 'none' for this app on this mailbox."""
    roles = set(token_roles)
    level = "write" if roles & WRITE_ROLES else ("read" if roles & READ_ROLES else "none")
    if level == "write":
        return level
    cutoff = world.clock.now() - timedelta(seconds=world.settings.rbac_delay_s)
    for ra in tenant.role_assignments:
        granted = RBAC_ROLES.get(ra.role)
        if granted is None or ra.app_id != app_id or ra.created_at > cutoff:
            continue
        scope = tenant.scopes.get(ra.scope) if ra.scope else None
        if ra.scope and scope is None:
            continue
        if scope is None or scope_matches(tenant, scope, mbx):
            if granted == "write":
                return "write"
            level = "read"
    return level


def explain(world: World, tenant: Tenant, app_id: str, mbx: Mailbox) -> list[dict]:
    """Like Test-ServicePrincipalAuthorization -Resource: one row per role assignment, with InScope."""
    rows = []
    for ra in tenant.role_assignments:
        if ra.app_id != app_id:
            continue
        scope = tenant.scopes.get(ra.scope) if ra.scope else None
        rows.append(
            {
                "RoleName": ra.role,
                "AllowedResourceScope": ra.scope or "Organization",
                "ScopeType": "CustomRecipientScope" if ra.scope else "Organization",
                "InScope": bool(scope is None and not ra.scope) or bool(scope and scope_matches(tenant, scope, mbx)),
            }
        )
    return rows
