"""``GET /users/{id}/mailboxSettings`` and ``.../mailboxSettings/timeZone`` for room mailboxes.

Source: graph-docs api-reference/v1.0/api/user-get-mailboxsettings.md (learn.microsoft.com/graph/api/
user-get-mailboxsettings): the time zone comes back "in the format that the administrator has set up", Windows
by default, so the emulator answers the Windows name of the mailbox's zone (eventshape.WINDOWS_TZ) and the IANA
name where it has none. Application permission MailboxSettings.Read (or ReadWrite); with Exchange RBAC for
Applications the role is ``Application MailboxSettings.Read`` in a management scope (the Exchange docs' RBAC for
Applications role list, GRAPH_NOTES G2). Without either the answer is 403 ErrorAccessDenied.
"""

from __future__ import annotations

from werkzeug.routing import Rule

from . import graph_errors as ge
from . import rbac
from .eventshape import WINDOWS_TZ

TOKEN_ROLES = {"MailboxSettings.Read", "MailboxSettings.ReadWrite"}
RBAC_ROLES = {"Application MailboxSettings.Read", "Application MailboxSettings.ReadWrite"}


def rules() -> list[Rule]:
    return [
        Rule("/v1.0/users/<user>/mailboxSettings", endpoint=get_settings, methods=["GET"]),
        Rule("/v1.0/users/<user>/mailboxsettings", endpoint=get_settings, methods=["GET"]),
        Rule("/v1.0/users/<user>/mailboxSettings/timeZone", endpoint=get_time_zone, methods=["GET"]),
    ]


def access(world, tenant, app_id: str, token_roles: list[str], mbx) -> str:
    """'read' when the token carries MailboxSettings.Read(Write) or an RBAC assignment in scope grants it."""
    if set(token_roles) & TOKEN_ROLES:
        return "read"
    for ra in tenant.role_assignments:
        if ra.role in RBAC_ROLES and ra.app_id == app_id:
            scope = tenant.scopes.get(ra.scope) if ra.scope else None
            if (not ra.scope) or (scope is not None and rbac.scope_matches(tenant, scope, mbx)):
                return "read"
    return "none"


def zone_name(mbx) -> str:
    return WINDOWS_TZ.get(mbx.time_zone, mbx.time_zone)


def get_settings(ctx, user: str):
    mbx = ctx.mailbox(user, access=access)
    body = {
        "@odata.context": ctx.url(f"/$metadata#users('{user}')/mailboxSettings"),
        "archiveFolder": None,
        "timeZone": zone_name(mbx),
        "automaticRepliesSetting": {"status": "disabled", "externalAudience": "all"},
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": zone_name(mbx)},
        },
        "dateFormat": "dd/MM/yyyy",
        "timeFormat": "HH:mm",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "userPurpose": "room" if mbx.kind == "room" else "shared" if mbx.kind == "shared" else "user",
    }
    return ge.json_response(body)


def get_time_zone(ctx, user: str):
    mbx = ctx.mailbox(user, access=access)
    return ge.json_response({"@odata.context": ctx.url(f"/$metadata#users('{user}')/mailboxSettings/timeZone"),
                             "value": zone_name(mbx)})
