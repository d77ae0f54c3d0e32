"""calendarView delta as real Graph answers it, one contract per behaviour, each with its source:

* occurrences are stubs (docs-contrib issues 5602 and 34), series masters never appear (issue 7968),
  exceptions and single instances come in full; the master is read with GET /events/{id} and $select;
* calendarView and its delta refuse windows over 1,825 days (docs-contrib issue 6321);
* ``@removed`` also for events moved out of the window or changed outside it
  (https://learn.microsoft.com/graph/api/event-delta).
"""

from __future__ import annotations

import pytest

from devtools.m365sim.delta import STUB_FIELDS

START, END = "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"
WINDOW = f"startDateTime={START}&endDateTime={END}"
WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday"},
    "range": {"type": "endDate", "startDate": "2026-02-16", "endDate": "2026-04-27"},
}
# what RoomCal reads from a master (shared/sync/series_masters.py asks for these)
MASTER_FIELDS = "organizer,attendees,isAllDay,isCancelled,showAs,sensitivity,isOnlineMeeting,responseStatus"


def _round(office, url):
    items = []
    while True:
        r = office.graph("GET", url)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["value"]
        if "@odata.nextLink" not in body:
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def _view(office, room, window=WINDOW):
    items, url = [], f"/users/{room}/calendarView?{window}"
    while url:
        body = office.graph("GET", url).json()
        items += body["value"]
        url = body.get("@odata.nextLink")
    return {i["id"]: i for i in items}


@pytest.fixture
def series(office, ctl):
    """A weekly series in room 1 with one moved occurrence (an exception) and one single meeting."""
    room, org = office.rooms[0], {"email": f"ann@{office.domain}", "name": "Ann"}
    # Set-CalendarProcessing -RemovePrivateProperty $false, so the private flag survives into the room's copy
    # and the master read can be seen to carry a non-default sensitivity.
    ctl.update_mailbox(office.tid, room, remove_private_property=False)
    made = ctl.create_meeting(office.tid, org, [room], "2026-02-16T09:00:00", "2026-02-16T09:30:00",
                              recurrence=WEEKLY, online=True, sensitivity="private")
    ctl.update_meeting(office.tid, made["id"], occurrence="2026-03-09", start="2026-03-09T11:00:00",
                       end="2026-03-09T11:45:00")
    ctl.create_meeting(office.tid, org, [room], "2026-03-03T13:00:00", "2026-03-03T14:00:00")
    return made


def test_occurrences_are_stubs_exceptions_and_singles_full_masters_never(office, series):
    """docs-contrib 5602/34: an occurrence carries only @odata.type, @odata.etag, id, type, seriesMasterId,
    start and end; docs-contrib 7968: calendarView never returns the series master."""
    room = office.rooms[0]
    items, _ = _round(office, f"/users/{room}/calendarView/delta?{WINDOW}")
    kinds = {i["type"] for i in items}
    assert kinds == {"occurrence", "exception", "singleInstance"}
    view = _view(office, room)
    for item in items:
        if item["type"] == "occurrence":
            assert set(item) == set(STUB_FIELDS)
            assert item["seriesMasterId"] == series["copies"][room]
            assert {k: item[k] for k in ("start", "end", "@odata.etag")} == {
                k: view[item["id"]][k] for k in ("start", "end", "@odata.etag")}
        else:
            assert "organizer" in item and "attendees" in item and item["subject"]


def test_the_master_read_with_select_completes_a_stub(office, series):
    """The fields a stub lacks are the master's (GET /users/{id}/events/{id} with $select, event-get.md);
    merged under the occurrence's own id, start and end they equal calendarView's full occurrence."""
    room = office.rooms[0]
    items, _ = _round(office, f"/users/{room}/calendarView/delta?{WINDOW}")
    stub = next(i for i in items if i["type"] == "occurrence")
    r = office.graph("GET", f"/users/{room}/events/{stub['seriesMasterId']}?$select={MASTER_FIELDS}")
    assert r.status_code == 200
    master = r.json()
    assert set(master) == {"id", "@odata.etag", *MASTER_FIELDS.split(",")}  # only what was asked for
    assert "subject" not in master and "body" not in master
    full = _view(office, room)[stub["id"]]
    assert {k: master[k] for k in MASTER_FIELDS.split(",")} == {k: full[k] for k in MASTER_FIELDS.split(",")}
    assert master["sensitivity"] == "private" and master["isOnlineMeeting"] is True


def test_an_occurrence_the_room_declined_is_an_exception_in_full(office, ctl, series):
    """A room's answer to one occurrence makes it differ from its master, so delta must carry it in full."""
    room = office.rooms[0]
    _, link = _round(office, f"/users/{room}/calendarView/delta?{WINDOW}")
    occ = next(i for i in _view(office, room).values() if i["type"] == "occurrence")
    assert office.graph("POST", f"/users/{room}/events/{occ['id']}/decline", json={}).status_code == 202
    items, _ = _round(office, link)
    assert [(i["id"], i["type"], i["responseStatus"]["response"]) for i in items] == [
        (occ["id"], "exception", "declined")]


def test_master_reads_are_throttled_and_scoped_like_every_read(office, ctl, series):
    room = office.rooms[0]
    master = series["copies"][room]
    ctl.settings(request_budget=1, budget_window_s=600)
    token = office.token()
    assert office.graph("GET", f"/users/{room}/events/{master}?$select=organizer", token=token).status_code == 200
    throttled = office.graph("GET", f"/users/{room}/events/{master}?$select=organizer", token=token)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    ctl.settings(request_budget=10000)
    out = office.graph("GET", f"/users/outside@{office.domain}/events/{master}")
    assert out.status_code == 403 and out.json()["error"]["code"] == "ErrorAccessDenied"
    ctl.delete_meeting(office.tid, series["id"])
    gone = office.graph("GET", f"/users/{room}/events/{master}?$select=organizer")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ErrorItemNotFound"


@pytest.mark.parametrize("path", ["calendarView", "calendarView/delta"])
def test_windows_over_1825_days_are_refused(office, path):
    """docs-contrib 6321: 400 ErrorInvalidRequest "... Maximum number of days: 1825" (assumed for delta too)."""
    room = office.rooms[0]
    ok = office.graph("GET", f"/users/{room}/{path}?startDateTime=2026-01-01T00:00:00Z"
                             "&endDateTime=2030-12-31T00:00:00Z")  # exactly 1,825 days
    assert ok.status_code == 200, ok.text
    r = office.graph("GET", f"/users/{room}/{path}?startDateTime=2026-01-01T00:00:00Z"
                            "&endDateTime=2030-12-31T00:00:01Z")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "ErrorInvalidRequest" and "Maximum number of days: 1825" in error["message"]


def test_removed_for_events_moved_out_of_or_changed_outside_the_window(office, ctl):
    """event-delta: @removed (reason deleted) also covers events outside the range that were added, updated or
    deleted, and events that left the range."""
    room, org = office.rooms[0], {"email": f"ann@{office.domain}"}
    leaving = ctl.create_meeting(office.tid, org, [room], "2026-03-10T09:00:00", "2026-03-10T10:00:00")
    outside = ctl.create_meeting(office.tid, org, [room], "2026-05-04T09:00:00", "2026-05-04T10:00:00")
    staying = ctl.create_meeting(office.tid, org, [room], "2026-03-11T09:00:00", "2026-03-11T10:00:00")
    _, link = _round(office, f"/users/{room}/calendarView/delta?{WINDOW}")
    ctl.update_meeting(office.tid, leaving["id"], start="2026-04-20T09:00:00", end="2026-04-20T10:00:00")
    ctl.update_meeting(office.tid, outside["id"], start="2026-05-05T09:00:00", end="2026-05-05T10:00:00")
    added_outside = ctl.create_meeting(office.tid, org, [room], "2026-06-01T09:00:00", "2026-06-01T10:00:00")
    items, _ = _round(office, link)
    removed = {i["id"] for i in items if i.get("@removed") == {"reason": "deleted"}}
    assert removed == {m["copies"][room] for m in (leaving, outside, added_outside)}
    assert staying["copies"][room] not in {i["id"] for i in items}
