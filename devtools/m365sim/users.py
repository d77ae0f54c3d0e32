"""``GET /users/{id | userPrincipalName}`` (user-get.md), as RoomCal uses it: a room mailbox's object id.

Permissions: user-get.md names ``User.Read.All`` as the least privileged application permission.
``User.ReadBasic.All`` exists as an application permission too, but Get user does not list it for app-only
calls and users observe 403 ``Authorization_RequestDenied`` with it (Microsoft Q&A "User.ReadBasic.All listed
as an Application permission, but no /users operation accepts it"): the emulator answers that way. Room
mailboxes are user objects in Entra ID; their id is the mailbox's. ``$select`` is honoured; an unknown user
is 404 ``Request_ResourceNotFound``.
"""

from __future__ import annotations

from werkzeug.routing import Rule

from . import graph_errors as ge

READ_USERS = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}


def rules() -> list[Rule]:
    return [Rule("/v1.0/users/<user>", endpoint=get_user, methods=["GET"])]


def get_user(ctx, user: str):
    if not READ_USERS & set(ctx.roles):
        raise ge.GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    tenant = ctx.tenant
    with ctx.world.lock:
        person, mbx = tenant.user(user), tenant.mailbox(user)
    if person is None and mbx is None:
        raise ge.GraphError(404, "Request_ResourceNotFound",
                            f"Resource '{user}' does not exist or one of its queried reference-property objects "
                            "are not present.")
    body = {
        "id": mbx.id if mbx is not None else person.id,
        "displayName": person.name if person else mbx.name,
        "mail": mbx.email if mbx else person.upn,
        "userPrincipalName": person.upn if person else mbx.email,
        "department": person.department if person else None,
    }
    select = [f.strip() for f in (ctx.request.args.get("$select") or "").split(",") if f.strip()]
    if select:
        body = {k: body[k] for k in select if k in body}
    else:
        body.pop("department")  # not a default property (user-get.md): only with $select
    return ge.json_response({"@odata.context": ctx.url("/$metadata#users/$entity"), **body})
