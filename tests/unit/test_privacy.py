"""The privacy whitelist: what a Graph event becomes when RoomCal stores it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.errors import InvalidInput
from shared.models import RoomEvent
from shared.sync.privacy import is_online, is_removed, normalise_event

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "rainier@contoso.com"
KEY = "test-hash-key"
CANARY = "CANARY-7f3a"
EVENT_ID = "AAMkAGVm/odd#id?=="
MASTER_ID = "AAMkAGVmMASTER=="


def graph_event(**overrides) -> dict:
    """A Graph event (GRAPH_NOTES §C shape) with a canary in every field RoomCal must drop."""
    event = {
        "@odata.etag": f'W/"{CANARY}-etag"',
        "id": EVENT_ID,
        "iCalUId": f"{CANARY}-ical",
        "changeKey": f"{CANARY}-changekey",
        "type": "singleInstance",
        "seriesMasterId": None,
        "subject": f"{CANARY}-subject",
        "bodyPreview": f"{CANARY}-preview",
        "body": {"contentType": "html", "content": f"<p>{CANARY}-body</p>"},
        "attachments": [{"name": f"{CANARY}-attachment.pdf", "contentBytes": f"{CANARY}-bytes"}],
        "hasAttachments": True,
        "categories": [f"{CANARY}-category"],
        "webLink": f"https://outlook.office365.com/owa/?itemid={CANARY}-weblink",
        "start": {"dateTime": "2025-05-20T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2025-05-20T09:30:00.0000000", "timeZone": "UTC"},
        "originalStartTimeZone": "W. Europe Standard Time",
        "originalEndTimeZone": "W. Europe Standard Time",
        "isAllDay": False, "isCancelled": False, "showAs": "busy", "sensitivity": "normal",
        "createdDateTime": "2025-05-01T08:12:33.123Z", "lastModifiedDateTime": "2025-05-02T10:00:00.456Z",
        "organizer": {"emailAddress": {"name": f"{CANARY}-organizer-name", "address": "IrvinS@contoso.com"}},
        "attendees": [
            {"type": "required", "status": {"response": "accepted", "time": "2025-05-01T08:20:00Z"},
             "emailAddress": {"name": f"{CANARY}-attendee-name", "address": "AdeleV@contoso.com"}},
            {"type": "resource", "status": {"response": "accepted", "time": "2025-05-01T08:12:40Z"},
             "emailAddress": {"name": "Conf Room Rainier", "address": "Rainier@contoso.com"}},
        ],
        "location": {"displayName": "Conf Room Rainier", "locationType": "conferenceRoom",
                     "locationEmailAddress": "Rainier@contoso.com", "uniqueId": f"{CANARY}-uniqueid",
                     "address": {"street": f"{CANARY}-street"}, "coordinates": {"latitude": 1.5}},
        "locations": [{"displayName": "Conf Room Rainier", "locationType": "conferenceRoom",
                       "locationEmailAddress": "Rainier@contoso.com", "uniqueId": f"{CANARY}-uniqueid"}],
        "recurrence": None,
        "responseStatus": {"response": "accepted", "time": "2025-05-01T08:12:40Z"},
        "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness",
        "onlineMeeting": {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{CANARY}-join",
                          "conferenceId": f"{CANARY}-conf", "tollNumber": f"{CANARY}-toll"},
        "onlineMeetingUrl": f"https://meet.lync.com/{CANARY}-skype",
        "extensions": [{"secret": f"{CANARY}-extension"}],
        "someFieldGraphAddsTomorrow": f"{CANARY}-future",
    }
    event.update(overrides)
    return event


SERIES = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "sunday",
                "index": "first", "month": 0, "dayOfMonth": 0, "secret": f"{CANARY}-pattern"},
    "range": {"type": "endDate", "startDate": "2025-05-20", "endDate": "2025-12-30",
              "recurrenceTimeZone": "W. Europe Standard Time", "numberOfOccurrences": 0},
}

EVENT_KINDS = {
    "single": {},
    "occurrence": {"type": "occurrence", "seriesMasterId": MASTER_ID, "originalStart": "2025-05-20T09:00:00Z"},
    "exception": {"type": "exception", "seriesMasterId": MASTER_ID, "originalStart": "2025-05-20T09:00:00Z",
                  "start": {"dateTime": "2025-05-20T10:00:00.0000000", "timeZone": "UTC"},
                  "end": {"dateTime": "2025-05-20T10:30:00.0000000", "timeZone": "UTC"}},
    "series master": {"id": MASTER_ID, "type": "seriesMaster", "recurrence": SERIES},
    "all-day": {"isAllDay": True, "start": {"dateTime": "2025-05-20T00:00:00.0000000", "timeZone": "UTC"},
                "end": {"dateTime": "2025-05-21T00:00:00.0000000", "timeZone": "UTC"}},
    "cancelled": {"isCancelled": True, "subject": f"Canceled: {CANARY}-subject"},
    "private": {"sensitivity": "private"},
}


def normalise(event: dict) -> RoomEvent:
    return normalise_event(event, tenant_id=TENANT, room_email=ROOM, hash_key=KEY)


class TestWhitelist:
    @pytest.mark.parametrize("kind", EVENT_KINDS)
    def test_no_canary_reaches_the_model_entity_or_json(self, kind):
        """Subject, body, preview, join URLs, attachments and unknown fields never survive, for any event type."""
        stored = normalise(graph_event(**EVENT_KINDS[kind]))
        for text in (repr(stored), stored.model_dump_json(), json.dumps(stored.to_entity(), default=str)):
            assert CANARY not in text
        for text in (stored.model_dump_json(), json.dumps(stored.to_entity(), default=str)):
            assert EVENT_ID not in text and MASTER_ID not in text

    def test_normalisation_does_not_modify_the_graph_dict(self):
        """The whitelist copies; it never deletes from (or mutates) Graph's data."""
        event = graph_event()
        before = copy.deepcopy(event)
        normalise(event)
        assert event == before

    def test_keeps_the_whitelisted_fields(self):
        """Attendees (address/type/response), organiser, times, flags, location and room response are kept."""
        stored = normalise(graph_event())
        assert stored.organizer == "irvins@contoso.com"
        assert [(a.address, a.type, a.response) for a in stored.attendees] == [
            ("adelev@contoso.com", "required", "accepted"), ("rainier@contoso.com", "resource", "accepted")]
        assert stored.start_utc == datetime(2025, 5, 20, 9, 0, tzinfo=UTC)
        assert stored.end_utc == datetime(2025, 5, 20, 9, 30, tzinfo=UTC)
        assert stored.start_time_zone == "W. Europe Standard Time"
        assert stored.created_utc == datetime(2025, 5, 1, 8, 12, 33, 123000, tzinfo=UTC)
        assert [(loc.display_name, loc.email) for loc in stored.locations] == [
            ("Conf Room Rainier", "rainier@contoso.com")]
        assert (stored.sensitivity, stored.show_as, stored.room_response) == ("normal", "busy", "accepted")

    def test_private_event_keeps_sensitivity_and_nothing_else_changes(self):
        """A private meeting is stored like any other, with sensitivity 'private'."""
        normal, private = normalise(graph_event()), normalise(graph_event(sensitivity="private"))
        assert private.sensitivity == "private"
        assert private.model_copy(update={"sensitivity": "normal"}) == normal

    def test_series_members_share_a_keyed_series_id(self):
        """Occurrences and exceptions point to their master's series key; the id itself is not stored."""
        master = normalise(graph_event(**EVENT_KINDS["series master"]))
        occurrence = normalise(graph_event(**EVENT_KINDS["occurrence"]))
        exception = normalise(graph_event(**EVENT_KINDS["exception"]))
        assert master.series_key == occurrence.series_key == exception.series_key is not None
        assert master.recurrence.pattern.days_of_week == ["tuesday"]
        assert occurrence.original_start_utc == datetime(2025, 5, 20, 9, tzinfo=UTC)
        assert normalise(graph_event()).series_key is None

    def test_cancelled_and_all_day_flags(self):
        assert normalise(graph_event(**EVENT_KINDS["cancelled"])).is_cancelled is True
        all_day = normalise(graph_event(**EVENT_KINDS["all-day"]))
        assert all_day.is_all_day and all_day.end_utc - all_day.start_utc == (
            datetime(2025, 5, 21, tzinfo=UTC) - datetime(2025, 5, 20, tzinfo=UTC))

    def test_room_declined_is_visible(self):
        """The room's own decline (responseStatus of the room calendar) is kept for 'declined by room'."""
        stored = normalise(graph_event(responseStatus={"response": "declined", "time": "2025-05-01T09:00:00Z"}))
        assert stored.declined_by_room

    def test_room_response_falls_back_to_its_attendee_entry(self):
        event = graph_event(responseStatus={"response": "none", "time": "0001-01-01T00:00:00Z"})
        event["attendees"][1]["status"]["response"] = "declined"
        assert normalise(event).room_response == "declined"

    def test_entity_round_trips(self):
        """to_entity is flat (lists as JSON strings, UTC datetimes) and from_entity restores the event."""
        stored = normalise(graph_event(**EVENT_KINDS["series master"]))
        entity = stored.to_entity()
        assert all(isinstance(v, str | int | float | bool | datetime) for v in entity.values())
        assert entity["start_utc"].tzinfo is not None
        assert RoomEvent.from_entity(entity) == stored

    def test_row_key_is_stable_and_safe(self):
        """The same event always maps to the same row; the id's '/', '#', '?' never reach the key."""
        a, b = normalise(graph_event()), normalise(graph_event(subject="changed"))
        assert a.row_key == b.row_key
        assert not set("/\\#?") & set(a.row_key + a.to_entity()["PartitionKey"])


class TestRoomEventModel:
    def test_extra_fields_are_rejected(self):
        """RoomEvent cannot be built with a field outside the whitelist."""
        stored = normalise(graph_event())
        with pytest.raises(ValidationError):
            RoomEvent(**stored.model_dump(), subject="anything")

    def test_naive_datetimes_are_rejected(self):
        stored = normalise(graph_event())
        with pytest.raises(ValidationError):
            RoomEvent(**{**stored.model_dump(), "start_utc": datetime(2025, 5, 20, 9)})


class TestTimes:
    @pytest.mark.parametrize(("local", "zone", "utc"), [
        ("2025-05-20T09:00:00.0000000", "UTC", datetime(2025, 5, 20, 9, tzinfo=UTC)),
        ("2025-05-20T09:00:00.0000000", "W. Europe Standard Time", datetime(2025, 5, 20, 7, tzinfo=UTC)),
        ("2025-01-20T09:00:00.0000000", "W. Europe Standard Time", datetime(2025, 1, 20, 8, tzinfo=UTC)),
        ("2025-03-30T03:30:00.0000000", "Romance Standard Time", datetime(2025, 3, 30, 1, 30, tzinfo=UTC)),
        ("2025-07-01T09:00:00.0000000", "Pacific Standard Time", datetime(2025, 7, 1, 16, tzinfo=UTC)),
        ("2025-12-01T09:00:00.0000000", "Pacific Standard Time", datetime(2025, 12, 1, 17, tzinfo=UTC)),
        ("2025-07-01T09:00:00.0000000", "GMT Standard Time", datetime(2025, 7, 1, 8, tzinfo=UTC)),
        ("2025-07-01T09:00:00.0000000", "Eastern Standard Time", datetime(2025, 7, 1, 13, tzinfo=UTC)),
        ("2025-07-01T09:00:00.0000000", "India Standard Time", datetime(2025, 7, 1, 3, 30, tzinfo=UTC)),
        ("2025-07-01T09:00:00.0000000", "Tokyo Standard Time", datetime(2025, 7, 1, 0, tzinfo=UTC)),
        ("2025-01-10T09:00:00.0000000", "AUS Eastern Standard Time", datetime(2025, 1, 9, 22, tzinfo=UTC)),
        ("2025-07-10T09:00:00.0000000", "AUS Eastern Standard Time", datetime(2025, 7, 9, 23, tzinfo=UTC)),
        ("2025-07-01T09:00:00.0000000", "Central Europe Standard Time", datetime(2025, 7, 1, 7, tzinfo=UTC)),
        ("2025-07-01T09:00:00.0000000", "Europe/Amsterdam", datetime(2025, 7, 1, 7, tzinfo=UTC)),
        ("2025-07-01T09:00:00.1234567", "America/New_York", datetime(2025, 7, 1, 13, 0, 0, 123456, tzinfo=UTC)),
    ])
    def test_start_is_converted_to_utc(self, local, zone, utc):
        """Windows and IANA zone names both convert, including across DST changes."""
        stored = normalise(graph_event(start={"dateTime": local, "timeZone": zone},
                                       end={"dateTime": "2030-01-01T00:00:00.0000000", "timeZone": "UTC"}))
        assert stored.start_utc == utc

    def test_unknown_zone_is_named_in_the_error(self):
        with pytest.raises(InvalidInput, match="Mars Standard Time"):
            normalise(graph_event(start={"dateTime": "2025-05-20T09:00:00", "timeZone": "Mars Standard Time"}))

    def test_missing_start_names_the_field_not_a_value(self):
        with pytest.raises(InvalidInput) as err:
            normalise(graph_event(start=None))
        assert "start.dateTime" in err.value.message and CANARY not in err.value.message


class TestOnlineFlag:
    @pytest.mark.parametrize("fields", [
        {"isOnlineMeeting": True},
        {"onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/x"}},
        {"onlineMeetingUrl": "https://meet.lync.com/x"},
    ])
    def test_any_source_sets_the_flag(self, fields):
        base = {"isOnlineMeeting": False, "onlineMeeting": None, "onlineMeetingUrl": None}
        assert is_online({**base, **fields})
        assert normalise(graph_event(**{**base, **fields})).is_online

    def test_no_online_meeting(self):
        assert not is_online({"isOnlineMeeting": False, "onlineMeeting": {"joinUrl": None}, "onlineMeetingUrl": ""})


class TestRemoved:
    def test_removed_items_are_recognised_and_not_normalised(self):
        item = {"@odata.type": "#microsoft.graph.event", "id": EVENT_ID, "@removed": {"reason": "deleted"}}
        assert is_removed(item) and not is_removed(graph_event())
        with pytest.raises(InvalidInput):
            normalise(item)


@pytest.mark.parametrize(("field", "value"), [
    ("end", {"dateTime": "9999-12-31T23:00:00.0000000", "timeZone": "Pacific Standard Time"}),
    ("start", {"dateTime": "0001-01-01T00:30:00.0000000", "timeZone": "Tokyo Standard Time"}),
    ("createdDateTime", "0001-01-01T00:00:00+01:00"),
])
def test_times_beyond_the_datetime_range_are_invalid_input_not_overflow(field, value):
    """OverflowError is not a ValueError: it escaped the sync's skip of unusable events and failed the page."""
    event = {"id": "AAMk-overflow", "start": {"dateTime": "2026-01-05T09:00:00.0000000", "timeZone": "UTC"},
             "end": {"dateTime": "2026-01-05T10:00:00.0000000", "timeZone": "UTC"}, field: value}
    with pytest.raises(InvalidInput):
        normalise_event(event, tenant_id="aaaaaaaa-bbbb-cccc-dddd-000000000001", room_email="room@contoso.com",
                        hash_key="k")


class TestJoinLinksInLocations:
    """Add-ins and people paste join links (often with the passcode) into a location's name."""

    @pytest.mark.parametrize("text", [
        "https://contoso.zoom.us/j/81234567890?pwd=abc",
        "Zoom Meeting: zoom.us/j/81234567890",
        "Room 4; https://meet.google.com/abc-defg-hij",
        "Webex: contoso.webex.com/meet/ann",
        "Microsoft Teams Meeting",
        "meet.goto.com/123456789",
        "www.example.com/room",
        "Meeting ID 812 3456 7890 Passcode 123456",
        "sip:ann@contoso.com",
    ])
    def test_a_location_name_with_a_link_or_a_meeting_host_is_not_kept(self, text):
        stored = normalise(graph_event(locations=[
            {"displayName": text, "locationType": "default"},
            {"displayName": text, "locationType": "conferenceRoom", "locationEmailAddress": "Rainier@contoso.com"}]))
        assert [(loc.display_name, loc.email) for loc in stored.locations] == [("", "rainier@contoso.com")]
        assert text not in stored.model_dump_json()

    @pytest.mark.parametrize("text", ["Conf Room Rainier", "Building 2, floor 3 (Zoomlion corner)", "Café 4.12",
                                      "Meeting room Goto-Hamada"])
    def test_ordinary_place_names_are_kept(self, text):
        stored = normalise(graph_event(locations=[{"displayName": text, "locationType": "default"}]))
        assert [loc.display_name for loc in stored.locations] == [text]

    def test_the_singular_location_is_filtered_too(self):
        stored = normalise(graph_event(locations=[], location={"displayName": "https://zoom.us/j/1?pwd=x"}))
        assert stored.locations == []

    def test_a_name_longer_than_any_place_name_is_dropped_not_cut(self):
        text = "Hall " + "a-" * 50_000 + " https://zoom.us/j/1"
        stored = normalise(graph_event(locations=[{"displayName": text, "locationType": "default"}]))
        assert stored.locations == []
