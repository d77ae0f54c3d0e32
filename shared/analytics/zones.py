"""Each room's time zone and where it came from, in this order:

1. ``room``: set by an admin on the room (Rooms.time_zone, the override);
2. ``mailbox``: the room mailbox's own setting (``GET /users/{room}/mailboxSettings`` → ``timeZone``, usually a
   Windows name, mapped to IANA by shared.timezones); needs RBAC role ``Application MailboxSettings.Read``;
3. ``building``: the tenant's zone for the room's building (TenantSettings.building_time_zones);
4. ``tenant``: the tenant's zone (TenantSettings.time_zone).
"""

from __future__ import annotations

from shared.errors import InvalidInput
from shared.models import Room, TenantSettings
from shared.timezones import zone

SOURCES = ("room", "mailbox", "building", "tenant")


def iana(name: str | None) -> str | None:
    """The IANA name for a Graph zone name (IANA or Windows), or None when RoomCal cannot map it."""
    if not name:
        return None
    try:
        return zone(name).key
    except InvalidInput:
        return None


def resolve(room: Room, mailbox_zone: str | None, settings: TenantSettings) -> tuple[str, str]:
    """(IANA zone, source) for the room."""
    if room.time_zone:
        return room.time_zone, "room"
    if iana(mailbox_zone):
        return iana(mailbox_zone), "mailbox"
    by_building = settings.building_time_zones.get(room.building or "")
    if by_building:
        return by_building, "building"
    return settings.time_zone, "tenant"
