import json
from datetime import timedelta

import pytest

from shared.errors import InvalidInput, NotFound
from shared.ops.room_status import tenant_room_status
from tests.unit.test_sync import ROOM, TENANT, World


def _status(w):
    return {r["room"]: r for r in tenant_room_status(w.tables, w.clock, TENANT)["rooms"]}


def _show_organisers(w):
    w.tables.merge("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT,
                               "settings": json.dumps({"show_organisers": True})})


def test_current_and_next_meeting_with_size_organiser_and_online_flag():
    w = World()
    _show_organisers(w)
    now = w.clock.now()
    w.graph.add_event(TENANT, ROOM, start=now - timedelta(minutes=10), end=now + timedelta(minutes=20),
                      attendees=("a@contoso.com", "b@contoso.com"), organizer="boss@contoso.com",
                      isOnlineMeeting=True)
    w.graph.add_event(TENANT, ROOM, start=now + timedelta(hours=2), end=now + timedelta(hours=3),
                      sensitivity="private", organizer="secret@contoso.com")
    w.graph.add_event(TENANT, ROOM, start=now + timedelta(hours=1), end=now + timedelta(hours=2), isCancelled=True)
    w.hint("initial")
    w.clock.at = now
    room = _status(w)[ROOM]
    assert room["free_busy"] == "busy" and room["busy_until"] == (now + timedelta(minutes=20)).isoformat()
    assert room["current"]["attendee_count"] == 2
    assert room["current"]["organizer"] == "boss@contoso.com" and room["current"]["is_online"] is True
    assert room["next"]["start"] == (now + timedelta(hours=2)).isoformat()
    assert room["next"]["organizer"] is None  # private meeting
    assert room["sync"]["status"] == "synced"


def test_no_organiser_names_by_default_as_exchange_clears_the_private_flag_in_room_calendars():
    """Set-CalendarProcessing -RemovePrivateProperty is $true by default: a private meeting looks public."""
    w = World()
    now = w.clock.now()
    w.graph.add_event(TENANT, ROOM, start=now - timedelta(minutes=10), end=now + timedelta(minutes=20),
                      organizer="boss@contoso.com")
    w.hint("initial")
    room = _status(w)[ROOM]
    assert room["current"] is not None and room["current"]["organizer"] is None
    _show_organisers(w)
    assert _status(w)[ROOM]["current"]["organizer"] == "boss@contoso.com"


def test_a_free_room_says_until_when():
    w = World()
    now = w.clock.now()
    w.graph.add_event(TENANT, ROOM, start=now + timedelta(hours=1), end=now + timedelta(hours=2))
    w.hint("initial")
    room = _status(w)[ROOM]
    assert room["free_busy"] == "free" and room["current"] is None and "free_until" in room


def test_unknown_tenant_is_not_found_and_a_bad_id_is_invalid():
    w = World()
    with pytest.raises(NotFound):
        tenant_room_status(w.tables, w.clock, "11111111-1111-1111-1111-111111111111")
    with pytest.raises(InvalidInput):
        tenant_room_status(w.tables, w.clock, "../etc")


def test_the_next_meeting_is_looked_for_within_fourteen_days_only():
    w = World()
    now = w.clock.now()
    w.graph.add_event(TENANT, ROOM, start=now + timedelta(days=20), end=now + timedelta(days=20, hours=1))
    w.hint("initial")
    room = _status(w)[ROOM]
    assert room["next"] is None and room["free_busy"] == "free"
