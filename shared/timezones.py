"""Time-zone names as Graph sends them (IANA or Windows) and conversion to UTC.

Graph's ``dateTimeTimeZone`` is ``{"dateTime": "2025-05-20T09:00:00.0000000", "timeZone": "UTC"}``:
a local time without offset plus a zone name. Without ``Prefer: outlook.timezone`` the zone is
UTC, but ``originalStartTimeZone`` and user-chosen zones are Windows names. The map below is the
CLDR windowsZones "001" (primary) mapping for the zones Exchange tenants use most.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import InvalidInput

WINDOWS_TO_IANA: dict[str, str] = {
    "UTC": "UTC", "Coordinated Universal Time": "UTC", "tzone://Microsoft/Utc": "UTC",
    "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw", "Romance Standard Time": "Europe/Paris",
    "E. Europe Standard Time": "Europe/Chisinau", "FLE Standard Time": "Europe/Kiev",
    "GTB Standard Time": "Europe/Bucharest", "Russian Standard Time": "Europe/Moscow",
    "Turkey Standard Time": "Europe/Istanbul", "Israel Standard Time": "Asia/Jerusalem",
    "South Africa Standard Time": "Africa/Johannesburg", "Egypt Standard Time": "Africa/Cairo",
    "Morocco Standard Time": "Africa/Casablanca", "W. Central Africa Standard Time": "Africa/Lagos",
    "E. Africa Standard Time": "Africa/Nairobi", "Arabian Standard Time": "Asia/Dubai",
    "Arab Standard Time": "Asia/Riyadh", "Iran Standard Time": "Asia/Tehran",
    "Pakistan Standard Time": "Asia/Karachi", "India Standard Time": "Asia/Kolkata",
    "Nepal Standard Time": "Asia/Kathmandu", "Bangladesh Standard Time": "Asia/Dhaka",
    "SE Asia Standard Time": "Asia/Bangkok", "Singapore Standard Time": "Asia/Singapore",
    "China Standard Time": "Asia/Shanghai", "Taipei Standard Time": "Asia/Taipei",
    "Tokyo Standard Time": "Asia/Tokyo", "Korea Standard Time": "Asia/Seoul",
    "W. Australia Standard Time": "Australia/Perth", "Cen. Australia Standard Time": "Australia/Adelaide",
    "E. Australia Standard Time": "Australia/Brisbane", "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland", "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage", "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix", "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago", "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina", "Eastern Standard Time": "America/New_York",
    "SA Pacific Standard Time": "America/Bogota", "Atlantic Standard Time": "America/Halifax",
    "Pacific SA Standard Time": "America/Santiago", "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires", "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11", "UTC-02": "Etc/GMT+2", "UTC+12": "Etc/GMT-12",
}
_BY_LOWER = {name.lower(): iana for name, iana in WINDOWS_TO_IANA.items()}


@cache
def zone(name: str) -> ZoneInfo:
    """ZoneInfo for an IANA or (mapped) Windows zone name; InvalidInput naming it otherwise."""
    cleaned = (name or "").strip()
    iana = _BY_LOWER.get(cleaned.lower(), cleaned)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"time zone {cleaned[:80]!r} is unknown: it is neither an IANA name nor a Windows zone RoomCal maps",
            fix="add the Windows zone to shared/timezones.py WINDOWS_TO_IANA",
        ) from None


def to_utc(local: str, zone_name: str) -> datetime:
    """Graph's offset-less ``dateTime`` (up to 7 fractional digits) in ``zone_name``, as UTC."""
    try:
        parsed = datetime.fromisoformat(local)
    except (TypeError, ValueError):
        raise InvalidInput("dateTime is not an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(zone_name))
    return _as_utc(parsed)


def parse_utc(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp with offset or ``Z`` (createdDateTime, ...) as UTC; naive means UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput("timestamp is not ISO 8601") from None
    return _as_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _as_utc(moment: datetime) -> datetime:
    """UTC, or InvalidInput when that falls outside years 1..9999 (OverflowError is no ValueError)."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("date and time is out of range (before year 1 or after 9999 in UTC)") from None
