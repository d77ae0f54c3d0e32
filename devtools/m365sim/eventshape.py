"""The documented event resource (event.md, attendee.md, location.md, ...) rendered for one calendar copy."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from . import canary
from .calendar import Copy, Instance, Meeting

NO_TIME = "0001-01-01T00:00:00Z"
# Graph reports originalStartTimeZone in Windows names; a small IANA → Windows map covers the generator's zones.
WINDOWS_TZ = {
    "UTC": "UTC",
    "Europe/Amsterdam": "W. Europe Standard Time",
    "Europe/Berlin": "W. Europe Standard Time",
    "Europe/London": "GMT Standard Time",
    "Europe/Paris": "Romance Standard Time",
    "America/New_York": "Eastern Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "Asia/Tokyo": "Tokyo Standard Time",
}
IANA_BY_WINDOWS = {v: k for k, v in reversed(list(WINDOWS_TZ.items()))}


def iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def dtz(dt: datetime, tz: str | None) -> dict:
    """dateTimeTimeZone: no offset, 7 fractional digits, UTC unless Prefer: outlook.timezone was honoured."""
    zone = tz or "UTC"
    local = dt.astimezone(ZoneInfo(IANA_BY_WINDOWS.get(zone, zone))) if zone != "UTC" else dt.astimezone(UTC)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0", "timeZone": zone}


def change_key(ident: str, stamp: int) -> str:
    return base64.b64encode(hashlib.sha256(f"{ident}|{stamp}".encode()).digest()[:15]).decode()


def ical_uid(m: Meeting, key: str | None) -> str:
    # iCalUId is the same in every copy of a meeting but differs per occurrence (event.md: iCalUId)
    digest = hashlib.sha256(f"{m.id}|{key or ''}".encode()).hexdigest().upper()
    return "040000008200E00074C5B7101A82E00800000000" + digest[:48]


def _location(att) -> dict:
    return {
        "displayName": att.name,
        "locationType": "conferenceRoom",
        "uniqueId": att.email,
        "uniqueIdType": "directory",
        "locationEmailAddress": att.email,
    }


def _attendees(copy: Copy, key: str | None, created: datetime) -> list[dict]:
    m = copy.meeting
    out = []
    for a in m.attendees:
        if a.email.lower() == copy.mailbox:
            declined = copy.declined.get("*") or (copy.declined.get(key) if key else None)
            status = (
                {"response": "declined", "time": iso_z(declined[1])}
                if declined
                else {"response": "accepted", "time": iso_z(copy.accepted_at or created)}
            )
        elif a.type == "resource":
            status = {"response": "accepted", "time": iso_z(created)}
        else:
            status = {"response": "none", "time": NO_TIME}
        out.append({"type": a.type, "status": status, "emailAddress": {"name": a.name, "address": a.email}})
    return out


def _common(copy: Copy, ident: str, key: str | None, stamp: int, modified: datetime, cancelled: bool) -> dict:
    m = copy.meeting
    ck = change_key(ident, stamp)
    subj = canary.subject(m)
    if cancelled:
        subj = f"Canceled: {subj}"
    rooms = m.rooms()
    locations = [_location(a) for a in rooms]
    pasted = canary.pasted_join_text(m)
    if pasted:  # the add-in's own location, and Outlook folds it into location.displayName
        locations.append({"displayName": pasted, "locationType": "default", "uniqueId": pasted,
                          "uniqueIdType": "private"})
    own = copy.declined.get("*") or (copy.declined.get(key) if key else None)
    is_own = copy.mailbox == m.organizer.email.lower()
    text = canary.body_text(m)
    online = m.online
    return {
        "@odata.etag": f'W/"{ck}"',
        "id": ident,
        "createdDateTime": iso_z(m.created),
        "lastModifiedDateTime": iso_z(modified),
        "changeKey": ck,
        "categories": [],
        "transactionId": None,
        "originalStartTimeZone": WINDOWS_TZ.get(m.tz, m.tz),
        "originalEndTimeZone": WINDOWS_TZ.get(m.tz, m.tz),
        "iCalUId": ical_uid(m, key),
        "uid": ical_uid(m, None),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": is_own,
        "hasAttachments": False,
        "subject": subj,
        "bodyPreview": text[:255],
        "importance": m.importance,
        # a room with RemovePrivateProperty $true (Exchange's default) keeps private meetings as normal ones
        "sensitivity": "normal" if copy.private_cleared and m.sensitivity == "private" else m.sensitivity,
        "isAllDay": m.is_all_day,
        "isCancelled": cancelled,
        "isOrganizer": is_own,
        "responseRequested": True,
        "showAs": "free" if cancelled else m.show_as,
        "webLink": f"https://outlook.office365.com/owa/?itemid={ident}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": canary.join_url(m) if online and m.online_provider == "skypeForBusiness" else None,
        "isOnlineMeeting": online,
        "onlineMeetingProvider": m.online_provider if online else "unknown",
        "allowNewTimeProposals": True,
        "occurrenceId": None,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": "organizer", "time": NO_TIME}
        if is_own
        else (
            {"response": "declined", "time": iso_z(own[1])}
            if own
            else {"response": "accepted", "time": iso_z(copy.accepted_at or m.created)}
        ),
        "body": {"contentType": "html", "content": canary.body_html(m)},
        "location": {**locations[0], "displayName": "; ".join(loc["displayName"] for loc in locations)}
        if pasted
        else locations[0]
        if locations
        else {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        },
        "locations": locations,
        "attendees": _attendees(copy, key, m.created),
        "organizer": {"emailAddress": {"name": m.organizer.name, "address": m.organizer.email}},
        "onlineMeeting": {"joinUrl": canary.join_url(m)} if online else None,
    }


def render_instance(inst: Instance, tz: str | None = None) -> dict:
    body = _common(inst.copy, inst.id, inst.key, inst.stamp, inst.modified, inst.cancelled)
    body["type"] = inst.type
    body["seriesMasterId"] = inst.copy.id if inst.key else None
    body["recurrence"] = None
    if inst.key:
        m = inst.copy.meeting
        original = m.to_utc(datetime.combine(date.fromisoformat(inst.key), m.start.time()))
        body["originalStart"] = iso_z(original).replace(".000Z", "Z")
    body["start"], body["end"] = dtz(inst.start, tz), dtz(inst.end, tz)
    return dict(sorted(body.items(), key=lambda kv: kv[0] != "@odata.etag"))


def render_master(copy: Copy, tz: str | None = None) -> dict:
    m = copy.meeting
    stamp, modified = m.stamp, m.modified
    declined = copy.declined.get("*")  # the room's answer to the whole series is a change of its master
    if declined and declined[0] > stamp:
        stamp, modified = declined[0], max(modified, declined[1])
    body = _common(copy, copy.id, None, stamp, modified, m.cancelled)
    body["type"] = "seriesMaster" if m.recurrence else "singleInstance"
    body["seriesMasterId"] = None
    body["recurrence"] = m.recurrence
    body["start"], body["end"] = dtz(m.to_utc(m.start), tz), dtz(m.to_utc(m.end), tz)
    return body
