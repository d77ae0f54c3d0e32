"""The Places API: ``/places/microsoft.graph.room``, ``/places/microsoft.graph.roomlist`` and the rooms of one list
(place-list.md, room.md, roomlist.md). Needs the Entra permission ``Place.Read.All``; 100 per page by default.

Observed behaviour, which wins over place-list.md's paging promise: at most ``$top`` items and never an
``@odata.nextLink`` (docs-contrib issues 341, 6252, 7196); ``$skip`` pages (the workaround Microsoft's
answer in microsoft-graph-docs issue 6427 gives). A new room appears here only after a delay ("about 48 hrs",
microsoft-graph-docs issues 20558 and 7192): ``Place.listed_at`` holds it back until then."""

from __future__ import annotations

from urllib.parse import quote

from werkzeug.routing import Rule

from . import graph_errors as ge
from .world import Place, RoomList, Tenant


def rules() -> list[Rule]:
    return [
        Rule("/v1.0/places/microsoft.graph.room", endpoint=list_rooms, methods=["GET"]),
        Rule("/v1.0/places/microsoft.graph.roomlist", endpoint=list_room_lists, methods=["GET"]),
        Rule("/v1.0/places/microsoft.graph.roomList", endpoint=list_room_lists, methods=["GET"]),
        Rule("/v1.0/places/<listmail>/microsoft.graph.roomlist/rooms", endpoint=list_rooms_in_list, methods=["GET"]),
        Rule("/v1.0/places/<listmail>/microsoft.graph.roomList/rooms", endpoint=list_rooms_in_list, methods=["GET"]),
    ]


def room_json(p: Place) -> dict:
    return {
        "id": p.id,
        "displayName": p.name,
        "address": {
            "street": "1 Main Street",
            "city": p.city,
            "state": "",
            "countryOrRegion": p.country,
            "postalCode": "1000 AA",
        },
        "geoCoordinates": None,
        "phone": "",
        "nickname": p.name,
        "label": None,
        "emailAddress": p.email,
        "building": p.building,
        "floorNumber": p.floor_number,
        "floorLabel": p.floor_label,
        "capacity": p.capacity,
        "bookingType": p.booking_type,
        "audioDeviceName": None,
        "videoDeviceName": None,
        "displayDeviceName": None,
        "isWheelChairAccessible": p.wheelchair,
        "tags": list(p.tags),
    }


def room_list_json(r: RoomList) -> dict:
    return {
        "id": r.id,
        "displayName": r.name,
        "address": None,
        "geoCoordinates": None,
        "phone": "",
        "emailAddress": r.email,
    }


def _listed(p: Place, now) -> bool:
    return not p.hidden and (p.listed_at is None or p.listed_at <= now)


def _visible_rooms(tenant: Tenant, now) -> list[Place]:
    return sorted((p for p in tenant.places.values() if _listed(p, now)), key=lambda p: (p.name, p.email))


def _paged(ctx, items: list[dict], context: str):
    args = ctx.request.args
    top = ctx.world.settings.page_size_places
    if args.get("$top"):
        if not args["$top"].isdigit():
            raise ge.bad_request("Invalid $top value.")
        top = max(1, int(args["$top"]))
    skip = int(args["$skip"]) if args.get("$skip", "").isdigit() else 0
    body: dict = {"@odata.context": ctx.url(context)}
    if args.get("$count") == "true":
        body["@odata.count"] = len(items)
    body["value"] = items[skip : skip + top]  # no @odata.nextLink, however many are left (issues 341, 6252)
    return ge.json_response(body)


def list_rooms(ctx):
    ctx.require_role("Place.Read.All", "Place.ReadWrite.All")
    with ctx.world.lock:
        items = [room_json(p) for p in _visible_rooms(ctx.tenant, ctx.world.clock.now())]
    return _paged(ctx, items, "/$metadata#places/microsoft.graph.room")


def list_room_lists(ctx):
    ctx.require_role("Place.Read.All", "Place.ReadWrite.All")
    with ctx.world.lock:
        items = [room_list_json(r) for r in sorted(ctx.tenant.room_lists.values(), key=lambda r: r.name)]
    return _paged(ctx, items, "/$metadata#places/microsoft.graph.roomList")


def list_rooms_in_list(ctx, listmail: str):
    ctx.require_role("Place.Read.All", "Place.ReadWrite.All")
    with ctx.world.lock:
        rl = ctx.tenant.room_lists.get(listmail.lower())
        if rl is None:  # roomlist.md: addressed by emailAddress only, never by id
            raise ge.GraphError(404, "ErrorItemNotFound", f"The room list '{listmail}' was not found.")
        now = ctx.world.clock.now()
        places = [p for p in (ctx.tenant.places.get(e) for e in rl.rooms) if p is not None and _listed(p, now)]
        items = [room_json(p) for p in sorted(places, key=lambda p: (p.name, p.email))]
    return _paged(ctx, items, f"/$metadata#places('{quote(listmail)}')/microsoft.graph.roomList/rooms")
