"""Graph event → privacy-safe RoomEvent: a whitelist applied as soon as a page is parsed.

``calendarView/delta`` does not support ``$select`` (GRAPH_NOTES.md §B), so whole events reach
memory; this module copies the allowed fields (DESIGN.md "Privacy whitelist") into a new
RoomEvent and nothing else. It never deletes from a copy of the Graph dict, so a field Graph adds
tomorrow is dropped by default. Errors name the missing field, never a value from the event.

Bounded as well as whitelisted (shared/sync/row_bounds.py): every text is cut to a length no real
value needs, and a town-hall invite keeps its attendee counts but only the first
``row_bounds.MAX_ATTENDEES`` entries (rooms first), so ordinary data always fits a table row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import keys
from shared.errors import InvalidInput
from shared.models import Attendee, EventLocation, Recurrence, RecurrencePattern, RecurrenceRange, RoomEvent
from shared.sync.location_names import safe_location_name
from shared.sync.row_bounds import MAX_TEXT, bounded_attendees
from shared.timezones import parse_utc, to_utc

_EVENT_TYPES = {"singleInstance", "occurrence", "exception", "seriesMaster"}


def is_removed(item: dict[str, Any]) -> bool:
    """True for a delta item that only says "gone" (``@removed``); the caller deletes its row."""
    return "@removed" in item


def normalise_event(graph_event: dict[str, Any], *, tenant_id: str, room_email: str,
                    hash_key: str | bytes, rename: Callable[[str | None], str | None] | None = None) -> RoomEvent:
    """Copy the whitelisted fields of one Graph event into a RoomEvent. ``rename`` maps a person's
    address to what is stored (an erased person's pseudonym, sync/erasure.py)."""
    event_id = _text(graph_event.get("id"), limit=None)  # hashed whole, never stored
    if not event_id:
        raise InvalidInput("Graph event has no id")
    if is_removed(graph_event):
        raise InvalidInput("a removed (@removed) delta item has no event to normalise; delete its row instead")
    room = keys.normalise_email(room_email)
    event_type = graph_event.get("type") if graph_event.get("type") in _EVENT_TYPES else "singleInstance"
    start, end = _when(graph_event, "start"), _when(graph_event, "end")
    attendees = [a for a in map(_attendee, _list(graph_event.get("attendees"))) if a is not None]
    people_count = sum(1 for a in attendees if a.type != "resource")
    room_response = _room_response(graph_event, attendees, room)
    organizer = _address(_dict(graph_event.get("organizer")).get("emailAddress"))
    if rename is not None:
        organizer = rename(organizer)
        attendees = [a if a.type == "resource" else a.model_copy(update={"address": rename(a.address)})
                     for a in attendees]
    return RoomEvent(
        tenant_id=tenant_id,
        room_email=room,
        row_key=keys.event_row_key(hash_key, room, event_id),
        event_type=event_type,
        series_key=_series(graph_event, event_type, event_id, room, hash_key),
        start_utc=start[0], start_time_zone=_text(graph_event.get("originalStartTimeZone")) or start[1],
        end_utc=end[0], end_time_zone=_text(graph_event.get("originalEndTimeZone")) or end[1],
        original_start_utc=parse_utc(_text(graph_event.get("originalStart"))),
        is_all_day=graph_event.get("isAllDay") is True,
        is_cancelled=graph_event.get("isCancelled") is True,
        created_utc=parse_utc(_text(graph_event.get("createdDateTime"))),
        last_modified_utc=parse_utc(_text(graph_event.get("lastModifiedDateTime"))),
        organizer=organizer,
        attendees=bounded_attendees(attendees),
        attendee_count=len(attendees),
        people_count=people_count,
        locations=_locations(graph_event),
        recurrence=_recurrence(graph_event.get("recurrence")),
        sensitivity=_text(graph_event.get("sensitivity")) or "normal",
        show_as=_text(graph_event.get("showAs")) or "busy",
        is_online=is_online(graph_event),
        room_response=room_response,
    )


def is_online(graph_event: dict[str, Any]) -> bool:
    """The only trace of online-meeting data RoomCal keeps: whether there is one."""
    meeting = graph_event.get("onlineMeeting")
    has_meeting_info = isinstance(meeting, dict) and any(v not in (None, "", [], {}) for v in meeting.values())
    return graph_event.get("isOnlineMeeting") is True or has_meeting_info or bool(graph_event.get("onlineMeetingUrl"))


def _when(graph_event: dict[str, Any], name: str):
    value = _dict(graph_event.get(name))
    local, zone_name = _text(value.get("dateTime")), _text(value.get("timeZone")) or "UTC"
    if not local:
        raise InvalidInput(f"Graph event has no {name}.dateTime")
    return to_utc(local, zone_name), zone_name


def _series(graph_event, event_type, event_id, room, hash_key) -> str | None:
    if event_type == "seriesMaster":
        return keys.series_key(hash_key, room, event_id)
    master = _text(graph_event.get("seriesMasterId"), limit=None)
    return keys.series_key(hash_key, room, master) if master else None


def _attendee(raw: Any) -> Attendee | None:
    raw = _dict(raw)
    address = _address(raw.get("emailAddress"))
    if not address:
        return None
    return Attendee(address=address, type=_text(raw.get("type")) or "required",
                    response=_text(_dict(raw.get("status")).get("response")) or "none")


def _locations(graph_event: dict[str, Any]) -> list[EventLocation]:
    raw = _list(graph_event.get("locations")) or ([graph_event["location"]] if graph_event.get("location") else [])
    found = []
    for item in map(_dict, raw):
        name = safe_location_name(_text(item.get("displayName"), limit=None))
        location = EventLocation(display_name=name,
                                 email=_address({"address": item.get("locationEmailAddress")}),
                                 location_type=_text(item.get("locationType")) or None)
        if (location.display_name or location.email) and location not in found:
            found.append(location)
    return found


def _recurrence(raw: Any) -> Recurrence | None:
    raw = _dict(raw)
    pattern, range_ = _dict(raw.get("pattern")), _dict(raw.get("range"))
    if not pattern.get("type") or not range_.get("type"):
        return None
    return Recurrence(
        pattern=RecurrencePattern(
            type=_text(pattern.get("type")), interval=_int(pattern.get("interval"), 1),
            days_of_week=[_text(d) for d in _list(pattern.get("daysOfWeek"))],
            day_of_month=_int(pattern.get("dayOfMonth")), month=_int(pattern.get("month")),
            index=_text(pattern.get("index")) or None, first_day_of_week=_text(pattern.get("firstDayOfWeek")) or None,
        ),
        range=RecurrenceRange(
            type=_text(range_.get("type")), start_date=_text(range_.get("startDate")) or None,
            end_date=_text(range_.get("endDate")) or None,
            number_of_occurrences=_int(range_.get("numberOfOccurrences")),
            recurrence_time_zone=_text(range_.get("recurrenceTimeZone")) or None,
        ),
    )


def _room_response(graph_event: dict[str, Any], attendees: list[Attendee], room: str) -> str:
    """The room's own answer: the calendar owner's ``responseStatus``, else its attendee entry."""
    own = _text(_dict(graph_event.get("responseStatus")).get("response"))
    if own and own != "none":
        return own
    entry = next((a.response for a in attendees if a.address == room), None)
    return entry or own or "none"


def _address(raw: Any) -> str | None:
    address = _text(_dict(raw).get("address")).strip().lower()
    return address or None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any, limit: int | None = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
