"""The Places API: ``/places/microsoft.graph.room``, ``/places/microsoft.graph.roomlist`` and the rooms of one list
(place-list.md, room.md, roomlist.md). Needs the Entra permission ``Place.Read.All``; 100 per page by default."""

from __future__ import annotations

from urllib.parse import quote, urlencode

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


def _visible_rooms(tenant: Tenant) -> list[Place]:
    return sorted((p for p in tenant.places.values() if not p.hidden), key=lambda p: (p.name, p.email))


def _paged(ctx, items: list[dict], path: str, context: str):
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
    body["value"] = items[skip : skip + top]
    if skip + top < len(items):
        body["@odata.nextLink"] = ctx.url(f"{path}?{urlencode({'$top': top, '$skip': skip + top})}")
    return ge.json_response(body)


def list_rooms(ctx):
    ctx.require_role("Place.Read.All", "Place.ReadWrite.All")
    with ctx.world.lock:
        items = [room_json(p) for p in _visible_rooms(ctx.tenant)]
    return _paged(ctx, items, "/places/microsoft.graph.room", "/$metadata#places/microsoft.graph.room")


def list_room_lists(ctx):
    ctx.require_role("Place.Read.All", "Place.ReadWrite.All")
    with ctx.world.lock:
        items = [room_list_json(r) for r in sorted(ctx.tenant.room_lists.values(), key=lambda r: r.name)]
    return _paged(ctx, items, "/places/microsoft.graph.roomlist", "/$metadata#places/microsoft.graph.roomList")


def list_rooms_in_list(ctx, listmail: str):
    ctx.require_role("Place.Read.All", "Place.ReadWrite.All")
    with ctx.world.lock:
        rl = ctx.tenant.room_lists.get(listmail.lower())
        if rl is None:  # roomlist.md: addressed by emailAddress only, never by id
            raise ge.GraphError(404, "ErrorItemNotFound", f"The room list '{listmail}' was not found.")
        places = [ctx.tenant.places[e] for e in rl.rooms if e in ctx.tenant.places and not ctx.tenant.places[e].hidden]
        items = [room_json(p) for p in sorted(places, key=lambda p: (p.name, p.email))]
    return _paged(
        ctx,
        items,
        f"/places/{listmail}/microsoft.graph.roomlist/rooms",
        f"/$metadata#places('{quote(listmail)}')/microsoft.graph.roomList/rooms",
    )
