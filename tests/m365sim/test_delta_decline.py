"""calendarView/delta: paging completeness against calendarView, incremental rounds, @removed, expired tokens;
and decline."""

from __future__ import annotations

import pytest

from devtools.m365sim.delta import STUB_FIELDS

START, END = "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"
WINDOW = f"startDateTime={START}&endDateTime={END}"


def _all_pages(office, url, headers=None):
    items, pages = [], 0
    while True:
        r = office.graph("GET", url, headers=dict(headers or {}))
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
        items += body["value"]
        if "@odata.nextLink" in body:
            url = body["@odata.nextLink"]
            assert "$skiptoken=" in url
            continue
        assert "$deltatoken=" in body["@odata.deltaLink"]
        return items, body["@odata.deltaLink"], pages, r


def _view_ids(office, room):
    items, url = [], f"/users/{room}/calendarView?{WINDOW}&$top=7"
    while url:
        body = office.graph("GET", url).json()
        items += body["value"]
        url = body.get("@odata.nextLink")
    return items


@pytest.fixture
def booked(office, ctl):
    d, room = office.domain, office.rooms[0]
    org = {"email": f"ann@{d}", "name": "Ann"}
    made = {}
    for i, day in enumerate(["03", "05", "10", "12", "17", "19", "24"]):
        made[f"single{i}"] = ctl.create_meeting(
            office.tid, org, [room], f"2026-03-{day}T13:00:00", f"2026-03-{day}T14:00:00"
        )
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday"},
        "range": {"type": "endDate", "startDate": "2026-02-16", "endDate": "2026-04-27"},
    }
    made["series"] = ctl.create_meeting(
        office.tid, org, [room], "2026-02-16T09:00:00", "2026-02-16T09:30:00", recurrence=weekly
    )
    ctl.update_meeting(
        office.tid,
        made["series"]["id"],
        occurrence="2026-03-09",
        start="2026-03-09T11:00:00",
        end="2026-03-09T11:45:00",
    )
    ctl.delete_meeting(office.tid, made["series"]["id"], occurrence="2026-03-16")
    ctl.cancel_meeting(office.tid, made["single6"]["id"])  # stays, isCancelled
    made["outside"] = ctl.create_meeting(office.tid, org, [room], "2026-05-04T09:00:00", "2026-05-04T10:00:00")
    return made


@pytest.mark.parametrize("page_size", [1, 3, 7, 50])
def test_delta_pages_union_equals_calendar_view(office, booked, page_size):
    room = office.rooms[0]
    items, _, pages, last = _all_pages(
        office, f"/users/{room}/calendarView/delta?{WINDOW}", {"Prefer": f"odata.maxpagesize={page_size}"}
    )
    assert last.headers["Preference-Applied"] == f"odata.maxpagesize={page_size}"
    assert pages == max(1, -(-len(items) // page_size))
    view = _view_ids(office, room)
    assert sorted(i["id"] for i in items) == sorted(v["id"] for v in view)
    assert not any("@removed" in i for i in items)
    types = {i["type"] for i in items}
    assert types == {"singleInstance", "occurrence", "exception"}  # never the series master
    series_items = [i for i in items if i["type"] != "singleInstance"]
    assert {i["seriesMasterId"] for i in series_items} == {booked["series"]["copies"][room]}
    assert len(series_items) == 4  # Mondays 2, 9 (moved: exception), 23, 30; the 16th was deleted
    assert any(i.get("isCancelled") for i in items)
    by_id = {v["id"]: v for v in view}
    for item in items:  # calendarView's full shapes, but occurrences as stubs (docs-contrib issues 5602, 34)
        full = {"@odata.type": "#microsoft.graph.event", **by_id[item["id"]]}
        keep = STUB_FIELDS if item["type"] == "occurrence" else full
        assert item == {k: full[k] for k in keep}


def test_delta_incremental_rounds(office, ctl, booked):
    room, tid = office.rooms[0], office.tid
    _, delta_link, _, _ = _all_pages(office, f"/users/{room}/calendarView/delta?{WINDOW}")
    before = {i["id"]: i for i in _view_ids(office, room)}
    org = {"email": f"ann@{office.domain}"}
    new = ctl.create_meeting(tid, org, [room], "2026-03-26T15:00:00", "2026-03-26T16:00:00")
    ctl.update_meeting(tid, booked["single0"]["id"], end="2026-03-03T14:30:00")  # extend
    ctl.cancel_meeting(tid, booked["single1"]["id"])  # cancelled, kept
    ctl.delete_meeting(tid, booked["single2"]["id"])  # deleted
    ctl.update_meeting(tid, booked["single3"]["id"], start="2026-04-14T13:00:00", end="2026-04-14T14:00:00")  # out
    ctl.cancel_meeting(tid, booked["series"]["id"], occurrence="2026-03-23", remove=True)
    ctl.update_meeting(tid, booked["outside"]["id"], start="2026-05-05T09:00:00", end="2026-05-05T10:00:00")
    items, delta_link2, _, _ = _all_pages(office, delta_link, {"Prefer": "odata.maxpagesize=2"})
    changed = {i["id"]: i for i in items if "@removed" not in i}
    removed = {i["id"] for i in items if "@removed" in i}
    assert all(i["@removed"] == {"reason": "deleted"} for i in items if "@removed" in i)
    room_id = lambda m: m["copies"][room]  # noqa: E731
    assert room_id(new) in changed
    assert changed[room_id(booked["single0"])]["end"]["dateTime"].startswith("2026-03-03T13:30")
    assert changed[room_id(booked["single1"])]["isCancelled"] is True
    assert room_id(booked["single2"]) in removed and room_id(booked["single3"]) in removed
    removed_occ = [i for i in before if i not in {v["id"] for v in _view_ids(office, room)}]
    assert set(removed_occ) <= removed
    assert room_id(booked["outside"]) in removed  # changed outside the window: @removed, per event-delta.md
    assert room_id(booked["single4"]) not in changed and room_id(booked["single4"]) not in removed
    # a quiet round returns nothing and a new delta link
    items3, _, _, _ = _all_pages(office, delta_link2)
    assert items3 == []


@pytest.mark.parametrize(
    ("mode", "status", "code"), [("syncStateNotFound", 400, "syncStateNotFound"), ("gone", 410, "resyncRequired")]
)
def test_expired_delta_tokens(office, ctl, booked, mode, status, code):
    room = office.rooms[0]
    _, delta_link, _, _ = _all_pages(office, f"/users/{room}/calendarView/delta?{WINDOW}")
    ctl.expire_delta_tokens(mode=mode)
    r = office.graph("GET", delta_link)
    assert r.status_code == status and r.json()["error"]["code"] == code
    if mode == "gone":
        location = r.headers["Location"]
        assert "startDateTime=" in location and location.endswith("$deltatoken=")
        items, _, _, _ = _all_pages(office, location)
        assert len(items) == len(_view_ids(office, room))
    garbage = office.graph("GET", f"/users/{room}/calendarView/delta?$deltatoken=not-a-token")
    assert garbage.status_code == status
    counters = ctl.faults()["counters"]
    assert counters["delta_tokens_expired"] >= 1 and counters["delta_token_rejected"] >= 2


def test_delta_rejects_select_and_needs_a_window(office):
    room = office.rooms[0]
    r = office.graph("GET", f"/users/{room}/calendarView/delta?{WINDOW}&$select=subject")
    assert r.status_code == 400
    r = office.graph("GET", f"/users/{room}/calendarView/delta")
    assert r.status_code == 400 and r.json()["error"]["code"] == "ErrorInvalidParameter"


def test_decline_single_and_occurrence(office, ctl, sim, booked):
    room, tid = office.rooms[0], office.tid
    _, delta_link, _, _ = _all_pages(office, f"/users/{room}/calendarView/delta?{WINDOW}")
    event_id = booked["single4"]["copies"][room]
    r = office.graph(
        "POST",
        f"/users/{room}/events/{event_id}/decline",
        json={"comment": "Released: nobody showed up.", "sendResponse": True},
    )
    assert r.status_code == 202 and r.content == b""
    ev = office.graph("GET", f"/users/{room}/events/{event_id}").json()
    assert ev["responseStatus"]["response"] == "declined"
    assert next(a for a in ev["attendees"] if a["type"] == "resource")["status"]["response"] == "declined"
    occ = next(i for i in _view_ids(office, room) if i["type"] == "occurrence")
    assert office.graph("POST", f"/users/{room}/events/{occ['id']}/decline", json={}).status_code == 202
    items, _, _, _ = _all_pages(office, delta_link)
    assert {i["id"] for i in items} == {event_id, occ["id"]}  # both reported as updates, nothing removed
    assert all(i["responseStatus"]["response"] == "declined" for i in items)
    assert sim.declines[-2]["comment"] == "Released: nobody showed up."
    changes = [c for c in ctl.changes() if c["tenantId"] == tid and c["changeType"] == "updated"]
    assert {c["eventId"] for c in changes[-2:]} == {event_id, occ["id"]}
    missing = office.graph("POST", f"/users/{room}/events/{event_id[:-8]}AAAAAAA=/decline", json={})
    assert missing.status_code in (400, 404)
