"""``GET /users/{id | userPrincipalName}`` for people, with ``$select`` (graph-docs api-reference/v1.0/api/
user-get.md): RoomCal's analytics reads only ``department`` of organisers, and only when the tenant turned directory
reads on. Application permission User.Read.All (or Directory.Read.All); without it Graph answers 403
``Authorization_RequestDenied`` "Insufficient privileges to complete the operation." (same page's errors; the
code is Entra's, as on every directory read). Room and other mailboxes without a user object answer 404.
"""

from __future__ import annotations

from werkzeug.routing import Rule

from . import graph_errors as ge

ROLES = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
FIELDS = ("id", "displayName", "mail", "userPrincipalName", "department")


def rules() -> list[Rule]:
    return [Rule("/v1.0/users/<user>", endpoint=get_user, methods=["GET"])]


def get_user(ctx, user: str):
    if not set(ctx.roles) & ROLES:
        raise ge.GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    with ctx.world.lock:
        person = ctx.tenant.user(user)
    if person is None:
        raise ge.GraphError(404, "Request_ResourceNotFound",
                            f"Resource '{user}' does not exist or one of its queried reference-property objects "
                            "are not present.")
    body = {"id": person.id, "displayName": person.name, "mail": person.upn, "userPrincipalName": person.upn,
            "department": person.department or None}
    select = [f.strip() for f in (ctx.request.args.get("$select") or "").split(",") if f.strip()]
    if select:
        body = {k: v for k, v in body.items() if k in select or k == "id"}
    return ge.json_response({"@odata.context": ctx.url("/$metadata#users/$entity"), **body})
