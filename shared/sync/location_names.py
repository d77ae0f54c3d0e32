"""Which location names RoomCal keeps: never a join link pasted into a location.

Zoom, Webex and Google Meet add-ins (and people) put the join link, often with its passcode,
into ``locations[].displayName``; Outlook also folds it into ``location.displayName``. A join link
is an online-meeting URL, which RoomCal never stores (DESIGN.md, privacy). The rule, decided for
RoomCal: a location's name is kept only when it is not (and contains no) URL and names no
meeting host or join details; otherwise the name is dropped and the location keeps only its
e-mail address (a room), or is dropped if it has none. A false positive costs a room name that
the Rooms registry has anyway; a false negative leaks a join link, so the patterns lean wide.
"""

from __future__ import annotations

import re

from shared.sync.row_bounds import MAX_TEXT

_URL = re.compile(
    r"[a-z][a-z0-9+.-]*://"  # any scheme://
    r"|\bwww\d?\."
    r"|\b(?:sips?|tel|callto|msteams|zoommtg|zoomus|webex|skype|facetime|conf):"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/",  # host/path without a scheme: zoom.us/j/...
    re.IGNORECASE)
_MEETING_HOSTS = re.compile(
    r"\bzoom\b|zoom\.(?:us|com)|\bwebex\b|google\s*meet|meet\.google|hangouts|\bteams\s+meeting|microsoft\s+teams"
    r"|teams\.(?:microsoft|live)|\bskype\b|\blync\b|goto\s?(?:meeting|webinar|connect)|goto\.com|gotomeet"
    r"|blue\s?jeans|ringcentral|\bchime\b|whereby|jitsi|jit\.si|dialpad|\bjoin\.me\b|pexip|\bvonage\b"
    r"|\b(?:passcode|password|pwd|meeting\s+(?:id|number)|conference\s+id|access\s+code|dial-?in)\b",
    re.IGNORECASE)


def safe_location_name(name: str) -> str:
    """``name`` when RoomCal may store it, else "". A name longer than ``MAX_TEXT`` is pasted text,
    not a place (and cutting it could hide a link past the cut): dropped as well."""
    if len(name) > MAX_TEXT or _URL.search(name) or _MEETING_HOSTS.search(name):
        return ""
    return name
