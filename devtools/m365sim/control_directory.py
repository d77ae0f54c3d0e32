"""Control API, directory half: tenants, users, rooms, mailboxes, room lists, groups, scopes, role
assignments, Entra grants and consent, auto-consent/sign-in and ID tokens."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from werkzeug.routing import Rule

from . import mailboxsettings, rbac
from .control import ControlError, P, body_of, guarded, reply, tenant_of
from .world import Group, Mailbox, Place, RoleAssignment, RoomList, Scope, Tenant, User


def rules() -> list[Rule]:
    r = [
        ("/tenants", tenants, ["GET", "POST"]),
        ("/tenants/<tid>", tenant_get, ["GET", "PATCH"]),
        ("/tenants/<tid>/users", add_user, ["POST"]),
        ("/tenants/<tid>/rooms", add_room, ["POST"]),
        ("/tenants/<tid>/places/<email>", patch_place, ["PATCH"]),
        ("/tenants/<tid>/mailboxes", add_mailbox, ["POST"]),
        ("/tenants/<tid>/mailboxes/<email>", patch_mailbox, ["PATCH"]),
        ("/tenants/<tid>/room-lists", add_room_list, ["POST"]),
        ("/tenants/<tid>/groups", add_group, ["POST"]),
        ("/tenants/<tid>/groups/<email>/members", group_members, ["POST"]),
        ("/tenants/<tid>/scopes", add_scope, ["POST"]),
        ("/tenants/<tid>/role-assignments", add_role_assignment, ["POST"]),
        ("/tenants/<tid>/role-assignments/<raid>", delete_role_assignment, ["DELETE"]),
        ("/tenants/<tid>/rbac-test", rbac_test, ["GET"]),
        ("/tenants/<tid>/grants", put_grants, ["PUT"]),
        ("/tenants/<tid>/consent", put_consent, ["PUT"]),
        ("/tenants/<tid>/auto-consent", put_auto_consent, ["PUT"]),
        ("/tenants/<tid>/auto-signin", put_auto_signin, ["PUT"]),
        ("/tenants/<tid>/id-token", id_token, ["POST"]),
    ]
    return [Rule(P + path, endpoint=guarded(fn), methods=methods) for path, fn, methods in r]


def tenant_json(t: Tenant, full: bool = False) -> dict:
    out = {
        "id": t.id,
        "domain": t.domain,
        "name": t.name,
        "consented": t.consented,
        "grants": sorted(t.grants),
        "auto_consent": t.auto_consent,
        "auto_signin": t.auto_signin,
    }
    if full:
        out.update(
            {
                "users": [asdict(u) for u in t.users.values()],
                "mailboxes": [asdict(m) | {"recipient_type": m.recipient_type} for m in t.mailboxes.values()],
                "places": [asdict(p) for p in t.places.values()],
                "room_lists": [asdict(r) for r in t.room_lists.values()],
                "groups": [{**asdict(g), "members": sorted(g.members)} for g in t.groups.values()],
                "scopes": [asdict(s) for s in t.scopes.values()],
                "role_assignments": [asdict(r) for r in t.role_assignments],
                "meetings": len(t.meetings),
            }
        )
    return out


def tenants(sim, request):
    if request.method == "POST":
        b = body_of(request)
        if b.get("id") and sim.world.tenant(b["id"]):
            raise ControlError("tenant exists", 409)
        t = sim.world.add_tenant(b.get("domain"), b.get("name"), b.get("id"))
        t.consented = bool(b.get("consented", False))
        t.grants = set(b.get("grants", sim.world.app.permissions if t.consented else []))
        return reply(tenant_json(t), 201)
    return reply([tenant_json(t) for t in sim.world.tenants.values()])


def tenant_get(sim, request, tid):
    t = tenant_of(sim, tid)
    if request.method == "PATCH":
        b = body_of(request)
        t.name, t.domain = b.get("name", t.name), b.get("domain", t.domain)
    return reply(tenant_json(t, full=True))


def add_user(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    u = User(
        id=b.get("id") or sim.world.guid(),
        upn=b["upn"],
        name=b.get("name") or b["upn"].split("@")[0],
        department=b.get("department", ""),
        is_admin=bool(b.get("is_admin", False)),
        app_roles=list(b.get("app_roles", ["RoomCal.Admin"] if b.get("is_admin") else [])),
    )
    t.users[u.id] = u
    if b.get("mailbox"):
        t.mailboxes[u.upn.lower()] = Mailbox(sim.world.guid(), u.upn, u.name, "user", b.get("country", "NL"))
    return reply(asdict(u), 201)


def add_room(sim, request, tid):
    """A room as an Exchange admin creates it: a place entry plus a room mailbox (unless told otherwise)."""
    t, b = tenant_of(sim, tid), body_of(request)
    email = b["email"]
    p = Place(
        id=b.get("id") or sim.world.guid(),
        email=email,
        name=b.get("name") or email.split("@")[0],
        capacity=b.get("capacity"),
        building=b.get("building"),
        floor_number=b.get("floor"),
        floor_label=b.get("floor_label") or (str(b["floor"]) if b.get("floor") is not None else None),
        booking_type=b.get("booking_type", "standard"),
        wheelchair=bool(b.get("wheelchair", False)),
        tags=list(b.get("tags", [])),
        city=b.get("city", "Amsterdam"),
        country=b.get("country", "NL"),
        hidden=bool(b.get("hidden", False)),
        listed_at=_listed_at(sim, b.get("list_after_s", sim.world.settings.places_list_after_s)),
    )
    t.places[email.lower()] = p
    if b.get("mailbox", True):
        t.mailboxes[email.lower()] = Mailbox(
            b.get("mailbox_id") or sim.world.guid(),
            email,
            p.name,
            b.get("kind", "room"),
            p.country,
            bool(b.get("exchange_enabled", True)),
            b.get("time_zone", "Europe/Amsterdam"),
            b.get("remove_private_property"),
        )
    if b.get("room_list"):
        rl = t.room_lists.get(b["room_list"].lower())
        if rl is None:
            raise ControlError(f"no room list {b['room_list']}", 404)
        rl.rooms.append(email.lower())
    return reply(asdict(p), 201)


def _listed_at(sim, delay_s):
    """/places lists a new room only after a delay on real Microsoft 365 (about 48 h; places.py)."""
    return None if not delay_s else sim.world.clock.now() + timedelta(seconds=float(delay_s))


def patch_place(sim, request, tid, email):
    """``{list_after_s: N}`` holds the room out of /places for N more seconds; 0 lists it now."""
    t, b = tenant_of(sim, tid), body_of(request)
    p = t.places.get(email.lower())
    if p is None:
        raise ControlError(f"no place {email}", 404)
    unknown = set(b) - {"list_after_s", "hidden"}
    if unknown:
        raise ControlError(f"cannot set {sorted(unknown)[0]}")
    if "list_after_s" in b:
        p.listed_at = _listed_at(sim, b["list_after_s"])
    if "hidden" in b:
        p.hidden = bool(b["hidden"])
    return reply(asdict(p))


def add_mailbox(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    m = Mailbox(
        b.get("id") or sim.world.guid(),
        b["email"],
        b.get("name") or b["email"].split("@")[0],
        b.get("kind", "user"),
        b.get("country", "NL"),
        bool(b.get("exchange_enabled", True)),
        b.get("time_zone", "Europe/Amsterdam"),
    )
    t.mailboxes[m.email.lower()] = m
    return reply(asdict(m), 201)


def patch_mailbox(sim, request, tid, email):
    t = tenant_of(sim, tid)
    m = t.mailboxes.get(email.lower())
    if m is None:
        raise ControlError(f"no mailbox {email}", 404)
    for k, v in body_of(request).items():
        if k not in ("name", "kind", "country", "exchange_enabled", "time_zone", "remove_private_property"):
            raise ControlError(f"cannot set {k}")
        setattr(m, k, v)
    return reply(asdict(m))


def add_room_list(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    rl = RoomList(
        b.get("id") or sim.world.guid(),
        b["email"],
        b.get("name") or b["email"].split("@")[0],
        [e.lower() for e in b.get("rooms", [])],
    )
    t.room_lists[rl.email.lower()] = rl
    return reply(asdict(rl), 201)


def add_group(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    g = Group(
        b.get("id") or sim.world.guid(),
        b["email"],
        b.get("name") or b["email"].split("@")[0],
        {e.lower() for e in b.get("members", [])},
    )
    t.groups[g.email.lower()] = g
    return reply({**asdict(g), "members": sorted(g.members)}, 201)


def group_members(sim, request, tid, email):
    t, b = tenant_of(sim, tid), body_of(request)
    g = t.groups.get(email.lower())
    if g is None:
        raise ControlError(f"no group {email}", 404)
    g.members |= {e.lower() for e in b.get("add", [])}
    g.members -= {e.lower() for e in b.get("remove", [])}
    return reply({**asdict(g), "members": sorted(g.members)})


def add_scope(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    s = Scope(b["name"], b.get("member_of_group"), b.get("country"), b.get("recipient_type"))
    if s.recipient_type not in (None, "RoomMailbox", "UserMailbox"):
        raise ControlError("recipient_type is RoomMailbox or UserMailbox")
    t.scopes[s.name] = s
    return reply(asdict(s), 201)


def add_role_assignment(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    roles = set(rbac.RBAC_ROLES) | mailboxsettings.RBAC_ROLES  # calendar roles, and the rooms' time zones
    if b["role"] not in roles:
        raise ControlError(f"role is one of {sorted(roles)}")
    if b.get("scope") and b["scope"] not in t.scopes:
        raise ControlError(f"no scope {b['scope']}", 404)
    ra = RoleAssignment(
        sim.world.guid(), b["role"], b.get("scope"), b.get("app_id", sim.world.app.client_id), sim.world.clock.now()
    )
    t.role_assignments.append(ra)
    return reply(asdict(ra), 201)


def delete_role_assignment(sim, request, tid, raid):
    t = tenant_of(sim, tid)
    t.role_assignments = [r for r in t.role_assignments if r.id != raid]
    return reply({"ok": True})


def rbac_test(sim, request, tid):
    t = tenant_of(sim, tid)
    m = t.mailbox(request.args["mailbox"])
    if m is None:
        raise ControlError("no such mailbox", 404)
    return reply(rbac.explain(sim.world, t, sim.world.app.client_id, m))


def put_grants(sim, request, tid):
    t = tenant_of(sim, tid)
    t.grants = set(body_of(request)["roles"])
    return reply(tenant_json(t))


def put_consent(sim, request, tid):
    """``{"consented": false}`` models revoked consent (service principal deleted): the token endpoint answers
    AADSTS700016; access tokens already issued keep working until they expire (they cannot be revoked)."""
    t, b = tenant_of(sim, tid), body_of(request)
    t.consented = bool(b["consented"])
    if t.consented:
        t.grants |= set(b.get("grants", sim.world.app.permissions))
    else:
        t.grants.clear()
        sim.faults.count("consent_revoked")
    return reply(tenant_json(t))


def put_auto_consent(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    if b and b.get("mode") not in ("approve", "decline", "non_admin"):
        raise ControlError("mode is approve, decline or non_admin (or send {} to clear)")
    t.auto_consent = b or None
    return reply(tenant_json(t))


def put_auto_signin(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    t.auto_signin = b.get("user")
    return reply(tenant_json(t))


def id_token(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    u = t.user(b["user"])
    if u is None:
        raise ControlError(f"no user {b['user']}", 404)
    return reply({"id_token": sim.tokens.id_token(t.id, u, b.get("nonce"))})
