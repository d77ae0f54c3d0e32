"""Graph contract: places, event and calendarView shapes, canaries, token validation and RBAC answers."""

from __future__ import annotations

import jwt
import pytest

from devtools.m365sim import CANARY_PATTERN, CANARY_PREFIX, planted_values

WINDOW = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-03-31T00:00:00Z"
EVENT_KEYS = {
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "transactionId",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "hasAttachments",
    "subject",
    "bodyPreview",
    "importance",
    "sensitivity",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "responseRequested",
    "seriesMasterId",
    "showAs",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "isDraft",
    "hideAttendees",
    "responseStatus",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "recurrence",
    "attendees",
    "organizer",
    "onlineMeeting",
    "@odata.etag",
}


def test_places_rooms_paging_and_shape(office):
    """At most $top rooms and never a nextLink; $skip pages (docs-contrib issues 341, 6252)."""
    first = office.graph("GET", "/places/microsoft.graph.room?$top=2")
    assert first.status_code == 200
    body = first.json()
    assert len(body["value"]) == 2 and "@odata.nextLink" not in body
    all_rooms, skip = list(body["value"]), 2
    while True:
        page = office.graph("GET", f"/places/microsoft.graph.room?$top=2&$skip={skip}").json()
        assert "@odata.nextLink" not in page
        all_rooms += page["value"]
        if len(page["value"]) < 2:
            break
        skip += 2
    seen = [r["emailAddress"] for r in all_rooms]
    assert sorted(seen) == sorted(
        [*office.rooms, f"outside@{office.domain}", f"nomailbox@{office.domain}", f"noexo@{office.domain}"]
    )
    room = next(r for r in all_rooms if r["emailAddress"] == office.rooms[0])
    assert {
        "id",
        "emailAddress",
        "displayName",
        "capacity",
        "building",
        "floorNumber",
        "floorLabel",
        "bookingType",
        "isWheelChairAccessible",
        "address",
        "tags",
        "nickname",
        "phone",
        "geoCoordinates",
    } <= set(room)
    assert room["capacity"] == 4 and room["bookingType"] == "standard" and room["building"] == "HQ"


def test_room_lists_and_rooms_in_a_list(office, ctl):
    ctl.add_room_list(office.tid, f"hq@{office.domain}", office.rooms[:2], name="HQ rooms")
    lists = office.graph("GET", "/places/microsoft.graph.roomlist").json()["value"]
    assert [rl["emailAddress"] for rl in lists] == [f"hq@{office.domain}"]
    rooms = office.graph("GET", f"/places/hq@{office.domain}/microsoft.graph.roomlist/rooms").json()
    assert [r["emailAddress"] for r in rooms["value"]] == office.rooms[:2]
    assert office.graph("GET", f"/places/{lists[0]['id']}/microsoft.graph.roomlist/rooms").status_code == 404


def test_places_need_place_read_all(office, ctl):
    ctl.set_grants(office.tid, [])
    r = office.graph("GET", "/places/microsoft.graph.room")
    assert r.status_code == 403 and r.json()["error"]["code"] == "ErrorAccessDenied"


def _meeting(ctl, office, **kw):
    args = {
        "organizer": {"email": f"ann@{office.domain}", "name": "Ann"},
        "rooms": [office.rooms[0]],
        "start": "2026-03-02T09:00:00",
        "end": "2026-03-02T10:00:00",
        "attendees": [{"email": f"bob@{office.domain}", "name": "Bob"}],
    }
    args.update(kw)
    return ctl.create_meeting(office.tid, **args)


def test_event_and_calendar_view_shape(office, ctl):
    m = _meeting(ctl, office, online=True, sensitivity="private")
    room = office.rooms[0]
    view = office.graph("GET", f"/users/{room}/calendarView?{WINDOW}")
    assert view.status_code == 200
    ev = view.json()["value"][0]
    assert set(ev) >= EVENT_KEYS
    assert ev["id"] == m["copies"][room] and ev["type"] == "singleInstance" and ev["seriesMasterId"] is None
    assert ev["start"] == {"dateTime": "2026-03-02T08:00:00.0000000", "timeZone": "UTC"}  # 09:00 Amsterdam (CET)
    assert ev["originalStartTimeZone"] == "W. Europe Standard Time"
    assert (
        ev["sensitivity"] == "normal"  # RemovePrivateProperty $true (room default)
        and ev["isOnlineMeeting"] and ev["onlineMeetingProvider"] == "teamsForBusiness"
    )
    assert ev["body"]["contentType"] == "html"
    assert ev["organizer"] == {"emailAddress": {"name": "Ann", "address": f"ann@{office.domain}"}}
    resource = [a for a in ev["attendees"] if a["type"] == "resource"]
    assert resource == [
        {
            "type": "resource",
            "status": {"response": "accepted", "time": resource[0]["status"]["time"]},
            "emailAddress": {"name": "Room 1", "address": room},
        }
    ]
    assert ev["location"]["locationEmailAddress"] == room and ev["locations"] == [ev["location"]]
    assert ev["responseStatus"]["response"] == "accepted" and not ev["isOrganizer"]
    one = office.graph("GET", f"/users/{room}/events/{ev['id']}").json()
    assert one["id"] == ev["id"] and one["changeKey"] == ev["changeKey"]
    # the organiser's own copy (a user mailbox) has a different id, the same iCalUId
    own = office.graph("GET", f"/users/ann@{office.domain}/calendarView?{WINDOW}").json()["value"][0]
    assert own["id"] != ev["id"] and own["iCalUId"] == ev["iCalUId"] and own["isOrganizer"]


def test_sensitive_fields_carry_canaries(office, ctl, sim):
    _meeting(ctl, office, online=True, online_provider="skypeForBusiness")
    ev = office.graph("GET", f"/users/{office.rooms[0]}/calendarView?{WINDOW}").json()["value"][0]
    for value in (
        ev["subject"],
        ev["bodyPreview"],
        ev["body"]["content"],
        ev["onlineMeeting"]["joinUrl"],
        ev["onlineMeetingUrl"],
    ):
        assert CANARY_PREFIX in value and CANARY_PATTERN.search(value)
    planted = set(planted_values(sim.world))
    assert ev["subject"] in planted and ev["onlineMeeting"]["joinUrl"] in planted


def test_prefer_timezone_is_applied(office, ctl):
    _meeting(ctl, office)
    r = office.graph(
        "GET",
        f"/users/{office.rooms[0]}/calendarView?{WINDOW}",
        headers={"Prefer": 'outlook.timezone="W. Europe Standard Time"'},
    )
    assert r.headers["Preference-Applied"] == 'outlook.timezone="W. Europe Standard Time"'
    assert r.json()["value"][0]["start"] == {
        "dateTime": "2026-03-02T09:00:00.0000000",
        "timeZone": "W. Europe Standard Time",
    }


def test_calendar_view_requires_window_and_pages(office, ctl):
    r = office.graph("GET", f"/users/{office.rooms[0]}/calendarView")
    assert r.status_code == 400 and r.json()["error"]["code"] == "ErrorInvalidParameter"
    for day in range(2, 7):
        _meeting(ctl, office, start=f"2026-03-0{day}T09:00:00", end=f"2026-03-0{day}T10:00:00")
    page = office.graph("GET", f"/users/{office.rooms[0]}/calendarView?{WINDOW}&$top=2").json()
    ids = [e["id"] for e in page["value"]]
    while "@odata.nextLink" in page:
        page = office.graph("GET", page["@odata.nextLink"]).json()
        ids += [e["id"] for e in page["value"]]
    assert len(ids) == len(set(ids)) == 5


@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "bad_signature", "wrong_audience"])
def test_graph_rejects_bad_tokens_with_401(office, ctl, sim, case):
    path = f"/users/{office.rooms[0]}/calendarView?{WINDOW}"
    if case == "missing":
        r = office.graph("GET", path, token=False)
    elif case == "garbage":
        r = office.graph("GET", path, token="not-a-jwt")
    elif case == "expired":
        token = office.token()
        ctl.advance_clock(3601)
        r = office.graph("GET", path, token=token)
    else:
        claims = jwt.decode(office.token(), options={"verify_signature": False})
        if case == "wrong_audience":
            claims["aud"] = "api://someone-else"
            token = jwt.encode(claims, sim.tokens.private_key, algorithm="RS256")
        else:
            from cryptography.hazmat.primitives.asymmetric import rsa

            other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            token = jwt.encode(claims, other, algorithm="RS256", headers={"kid": sim.tokens.key.kid})
        r = office.graph("GET", path, token=token)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert {"date", "request-id"} <= set(r.json()["error"]["innerError"])
    assert "WWW-Authenticate" in r.headers


def test_rbac_answers(office, ctl):
    d = office.domain
    path = "/users/{}/calendarView?" + WINDOW
    assert office.graph("GET", path.format(office.rooms[0])).status_code == 200
    out = office.graph("GET", path.format(f"outside@{d}"))
    assert out.status_code == 403 and out.json()["error"] == {
        **out.json()["error"],
        "code": "ErrorAccessDenied",
        "message": "Access to OData is disabled.",
    }
    unknown = office.graph("GET", path.format(f"nobody@{d}"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ErrorInvalidUser"
    ghost = office.graph("GET", path.format(f"nomailbox@{d}"))
    assert ghost.status_code == 404 and ghost.json()["error"]["code"] == "ErrorInvalidUser"
    noexo = office.graph("GET", path.format(f"noexo@{d}"))
    assert noexo.status_code == 404 and noexo.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"
    # a user mailbox in scope is readable, and absent from /places rooms: that is how "not a room" shows
    assert office.graph("GET", path.format(f"ann@{d}")).status_code == 200
    rooms = {r["emailAddress"] for r in office.graph("GET", "/places/microsoft.graph.room").json()["value"]}
    assert f"ann@{d}" not in rooms
    # by object id too
    mbx = next(m for m in ctl.tenant(office.tid)["mailboxes"] if m["email"] == office.rooms[0])
    assert office.graph("GET", path.format(mbx["id"])).status_code == 200


def test_rbac_filter_scope_read_only_and_tenant_wide_grant(office, ctl):
    t = ctl.create_tenant(domain=f"filter{office.tid[:6]}.example.com", consented=True)
    tid, d = t["id"], t["domain"]
    ctl.add_room(tid, f"nl@{d}", country="NL")
    ctl.add_room(tid, f"de@{d}", country="DE")
    ctl.add_mailbox(tid, f"user@{d}", country="NL")
    ctl.add_scope(tid, "NL rooms", country="NL", recipient_type="RoomMailbox")
    ctl.assign_role(tid, "Application Calendars.Read", "NL rooms")
    office.tid = tid
    m = ctl.create_meeting(
        tid, organizer=f"x@{d}", rooms=[f"nl@{d}"], start="2026-03-02T09:00:00", end="2026-03-02T10:00:00"
    )
    path = "/users/{}/calendarView?" + WINDOW
    assert office.graph("GET", path.format(f"nl@{d}")).status_code == 200
    assert office.graph("GET", path.format(f"de@{d}")).status_code == 403
    assert office.graph("GET", path.format(f"user@{d}")).status_code == 403
    decline = office.graph("POST", f"/users/nl@{d}/events/{m['copies'][f'nl@{d}']}/decline", json={"comment": "x"})
    assert decline.status_code == 403 and decline.json()["error"]["code"] == "ErrorAccessDenied"
    rows = ctl.rbac_test(tid, f"de@{d}")
    assert rows == [
        {
            "RoleName": "Application Calendars.Read",
            "AllowedResourceScope": "NL rooms",
            "ScopeType": "CustomRecipientScope",
            "InScope": False,
        }
    ]
    # a misconfigured tenant-wide Entra grant makes the scope irrelevant (GRAPH_NOTES G2)
    ctl.set_grants(tid, ["Place.Read.All", "Calendars.Read"])
    assert office.graph("GET", path.format(f"de@{d}")).status_code == 200


def test_rbac_propagation_delay(office, ctl):
    ctl.settings(rbac_delay_s=600)
    ctl.group_members(office.tid, f"rooms@{office.domain}", add=[f"outside@{office.domain}"])
    t = ctl.create_tenant(domain=f"delay{office.tid[:6]}.example.com", consented=True)
    ctl.add_room(t["id"], f"r@{t['domain']}")
    ctl.assign_role(t["id"], "Application Calendars.Read")
    office.tid = t["id"]
    path = f"/users/r@{t['domain']}/calendarView?{WINDOW}"
    assert office.graph("GET", path).status_code == 403
    ctl.advance_clock(601)
    assert office.graph("GET", path).status_code == 200


def test_events_list_has_singles_and_series_masters(office, ctl):
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "sunday"},
        "range": {"type": "numbered", "startDate": "2026-03-03", "numberOfOccurrences": 4},
    }
    m = _meeting(ctl, office, start="2026-03-03T09:00:00", end="2026-03-03T09:30:00", recurrence=weekly)
    _meeting(ctl, office)
    events = office.graph("GET", f"/users/{office.rooms[0]}/events").json()["value"]
    assert sorted(e["type"] for e in events) == ["seriesMaster", "singleInstance"]
    master = next(e for e in events if e["type"] == "seriesMaster")
    assert master["id"] == m["copies"][office.rooms[0]] and master["recurrence"] == weekly
    view = office.graph("GET", f"/users/{office.rooms[0]}/calendarView?{WINDOW}").json()["value"]
    occurrences = [e for e in view if e["type"] == "occurrence"]
    assert len(occurrences) == 4 and {e["seriesMasterId"] for e in occurrences} == {master["id"]}
    assert len({e["iCalUId"] for e in occurrences}) == 4
    one = office.graph("GET", f"/users/{office.rooms[0]}/events/{occurrences[1]['id']}").json()
    assert one["start"] == occurrences[1]["start"] and one["type"] == "occurrence"


def test_a_pasted_join_link_in_a_location_carries_a_canary(office, ctl, sim):
    _meeting(ctl, office, pasted_join="zoom")
    ev = office.graph("GET", f"/users/{office.rooms[0]}/calendarView?{WINDOW}").json()["value"][0]
    pasted = [loc["displayName"] for loc in ev["locations"] if loc.get("locationType") == "default"]
    assert len(pasted) == 1 and "zoom.us/j/" in pasted[0] and CANARY_PATTERN.search(pasted[0])
    assert pasted[0] in ev["location"]["displayName"] and pasted[0] in set(planted_values(sim.world))
    assert ev["isOnlineMeeting"] is False
