"""Canary strings planted in every sensitive event field, so RoomCal's tests can prove none of them leak.

Every subject, body, bodyPreview, online-meeting join URL and legacy ``onlineMeetingUrl`` the emulator serves
contains ``CANARY_PREFIX``. ``planted_values(world)`` lists the exact values currently served; for scanning
storage or logs, searching for ``CANARY_PREFIX`` (or ``CANARY_PATTERN``) is enough and cheaper.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .world import Meeting, World

CANARY_PREFIX = "CANARY-7f3a"
CANARY_PATTERN = re.compile(re.escape(CANARY_PREFIX) + r"-[a-z]+-[0-9a-f]{12}")
SENSITIVE_FIELDS = ("subject", "body.content", "bodyPreview", "onlineMeeting.joinUrl", "onlineMeetingUrl",
                    "locations[].displayName (a pasted join link)")
# Third-party add-ins (Zoom, Webex, Google Meet) are not Graph online-meeting providers: the event says
# isOnlineMeeting false and the add-in puts the join link, passcode included, into a location of its own
# and into location.displayName (Zoom's "Outlook add-in" and Webex Scheduler docs; RoomCal issue 16 item 2).
PASTED_JOIN_TEMPLATES = {
    "zoom": "https://contoso.zoom.us/j/81234567890?pwd={token}",
    "webex": "https://contoso.webex.com/meet/{token}",
    "meet": "Google Meet: https://meet.google.com/{token}",
    "teams": "Microsoft Teams Meeting https://teams.microsoft.com/l/meetup-join/{token}",
}


def token(kind: str, seed: str) -> str:
    """A stable canary value of one kind (subject, body, join, ...) for one meeting."""
    return f"{CANARY_PREFIX}-{kind}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}"


def subject(m: Meeting) -> str:
    return m.subject or f"Meeting {token('subject', m.id)}"


def body_text(m: Meeting) -> str:
    return f"Agenda {token('body', m.id)}: confidential notes for {subject(m)}"


def body_html(m: Meeting) -> str:
    return f"<html><body><p>{body_text(m)}</p></body></html>"


def join_url(m: Meeting) -> str:
    return f"https://teams.microsoft.com/l/meetup-join/{token('join', m.id)}"


def pasted_provider(meeting_id: str) -> str | None:
    """The add-in that pasted a join link into this generated meeting's location, for about one meeting
    in eight (derived from the id, so the generator's random sequence is unchanged)."""
    digest = int(hashlib.sha256(f"pasted|{meeting_id}".encode()).hexdigest()[:8], 16)
    return sorted(PASTED_JOIN_TEMPLATES)[digest // 8 % 4] if digest % 8 == 0 else None


def pasted_join_text(m: Meeting) -> str | None:
    if not m.pasted_join:
        return None
    return PASTED_JOIN_TEMPLATES[m.pasted_join].format(token=token("location", m.id))


def values_for(m: Meeting) -> list[str]:
    out = [subject(m), body_text(m), body_html(m)]
    if m.online:
        out.append(join_url(m))
    if m.pasted_join:
        out.append(pasted_join_text(m))
    return out


def planted_values(world: World) -> Iterator[str]:
    """Every sensitive value the world can currently serve (all tenants)."""
    for tenant in world.tenants.values():
        for m in tenant.meetings.values():
            yield from values_for(m)


def contains_canary(text: str) -> bool:
    return CANARY_PREFIX in text
