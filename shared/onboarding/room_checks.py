"""One live check of one room against Microsoft Graph, and the words for each outcome.

Read access: the first page of a one-day calendarView (events are dropped unread, never
logged). The mailbox's time zone (mailboxSettings, role 'Application MailboxSettings.Read'): analytics prefer it,
so a room that syncs without it says so and names the role. Write access (only when no-show release is on):
declining an event id that cannot exist, which changes nothing in the calendar. This probe is undocumented, so only
its one unambiguous answer counts: 404 ``ErrorItemNotFound`` means Exchange checked the
write permission and then looked for the item; 403 means read-only. The id is well formed
(shaped like a real Exchange item id), so it is never refused as malformed before the
permission check, whichever of the two Exchange checks first; any other answer (400
``ErrorInvalidIdMalformed`` included) is "write access unknown", with the cmdlet that tells.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.errors import MailboxAccessDenied, MailboxNotFound, NotFound, RoomCalError, Throttled

# The layout of an Exchange REST item id (URL-safe base64 of 0x00 0x03 0x24 0x00, the mailbox GUID in ASCII, then
# the store entry id of the folder and the item), with GUIDs that belong to no mailbox: 115 bytes, 156 characters.
PROBE_EVENT_ID = base64.urlsafe_b64encode(
    b"\x00\x03\x24\x00" + b"00000000-0000-4000-8000-526f6f6d4361"  # "RoomCa"
    + b"\x00\x46\x00\x00\x00\x00\x00" + bytes(16) + b"\x07\x00" + bytes(22) + b"\x00\x00\x01\x0d\x00\x00"
    + bytes(22)
).decode("ascii")
RBAC_DELAY_NOTE = ("Exchange caches RBAC changes for 30 minutes to 2 hours: rooms denied now may turn ready "
                   "later; RoomCal re-checks them every 15 minutes for 3 hours after the last change. New rooms "
                   "reach Microsoft's room directory (/places) up to 48 hours late: those are re-checked for "
                   "48 hours.")
RECHECKED_CODES = {"outside_rbac_scope", "read_only_role", "throttled"}
# New rooms reach Microsoft's room directory (/places) up to about 48 hours after they are created
# (Microsoft engineers in microsoft-graph-docs issues 20558 and 7192).
DIRECTORY_DELAY = timedelta(hours=48)

REASONS: dict[str, tuple[str, str, str]] = {
    # code: (sync status, reason, fix)
    "ready": ("synced", "verified: RoomCal can read this calendar{write}", ""),
    "mailbox_not_found": (
        "not_synced", "mailbox not found: Exchange Online has no mailbox Graph can read at this address",
        "check the room's primary SMTP address (and that the mailbox is in Exchange Online, not on-premises), "
        "then correct or remove the room in RoomCal"),
    "outside_rbac_scope": (
        "not_synced", "outside the RBAC scope: RoomCal's Exchange role assignment does not cover this mailbox",
        "add the room to the management scope's mail-enabled security group (or set its CountryOrRegion), "
        "or re-run the RBAC script; Exchange applies it within 30 minutes to 2 hours and RoomCal re-checks"),
    "not_in_directory_yet": (
        "pending", "pending — not yet in Microsoft's room directory: Graph can read this mailbox, but /places does "
        "not list it yet (new rooms appear there up to about 48 hours after they are created)",
        "none needed if it is a new room: RoomCal re-checks it automatically for 48 hours and syncs it once it is "
        "listed; if it is not a room, convert it (Set-Mailbox -Type Room) or remove it from RoomCal"),
    "not_a_room_mailbox": (
        "not_synced", "not a room mailbox: the address is not among the tenant's rooms in Microsoft Graph (/places)",
        "convert it to a room mailbox (Set-Mailbox -Type Room), unhide it from the address lists if it is a "
        "hidden room, or remove it from RoomCal"),
    "read_only_role": (
        "not_synced", "read-only role while no-show release is enabled: RoomCal cannot decline meetings here",
        "assign 'Application Calendars.ReadWrite' (RBAC script with role=readwrite) or turn no-show release off"),
    "write_unknown": (
        "synced", "verified: RoomCal can read this calendar; whether it may decline no-shows in it is unknown "
        "(Microsoft Graph answered the write probe with {code})",
        "in Exchange Online PowerShell run Test-ServicePrincipalAuthorization -Identity <RoomCal's AppId, as in "
        "the RBAC script> -Resource <this room's address>: the 'Application Calendars.ReadWrite' row must show "
        "InScope True; if not, re-run the RBAC script with role=readwrite"),
    "throttled": ("pending", "throttled by Microsoft Graph: retry scheduled", "none needed; RoomCal retries"),
    "consent_missing": (
        "not_synced", "RoomCal has no admin consent in this tenant (revoked or never granted)",
        "have a Microsoft admin grant consent again (POST /api/tenants), then 'Continue setup'"),
    "unexpected_error": (
        "not_synced", "unexpected error from Microsoft Graph ({code})",
        "try 'Continue setup' again; if it persists, give Microsoft support the Graph request id"),
}


ZONE_UNREADABLE = ("; it cannot read the mailbox's time zone, so analytics cut this room's days in the "
                   "building's or the tenant's zone")
ZONE_FIX = ("add the Exchange RBAC role 'Application MailboxSettings.Read' to RoomCal's management scope (re-run "
            "the generated RBAC script), or set the room's time zone")


@dataclass(frozen=True)
class CheckResult:
    code: str
    can_read: bool = False
    can_write: bool | None = None
    graph_code: str | None = None
    request_id: str | None = None
    zone_readable: bool | None = None  # the mailbox's own time zone, analytics' first choice (False: a 403)

    def words(self) -> tuple[str, str, str]:
        status, reason, fix = REASONS[self.code]
        write = " and decline no-shows in it" if self.can_write else ""
        reason = reason.format(write=write, code=self.graph_code or "no code")
        if status == "synced" and self.zone_readable is False:
            reason, fix = reason + ZONE_UNREADABLE, "; ".join(filter(None, (fix, ZONE_FIX)))
        return status, reason, fix


def check_room(graph, tenant_id: str, email: str, *, now: datetime, want_write: bool,
               listed_in_places: bool | None) -> CheckResult:
    """Raises Throttled (the caller retries later) and ConsentMissing (a tenant-level problem)."""
    try:
        next(iter(graph.list_calendar_view(tenant_id, email, now, now + timedelta(days=1))), None)
    except MailboxNotFound as exc:
        return _failed("mailbox_not_found", exc)
    except MailboxAccessDenied as exc:
        # a non-room mailbox can never be inside a RoomMailbox-only scope: name the real cause
        return _failed("not_a_room_mailbox" if listed_in_places is False else "outside_rbac_scope", exc)
    except Throttled:
        raise
    except RoomCalError as exc:
        if exc.code == "consent_missing":
            raise
        return _failed("unexpected_error", exc)
    if listed_in_places is False:
        return CheckResult("not_in_directory_yet", can_read=True)  # the caller turns it into "not a room" after 48 h
    zone = _zone_readable(graph, tenant_id, email)
    result = _check_write(graph, tenant_id, email) if want_write else CheckResult("ready", can_read=True)
    return replace(result, zone_readable=zone)


def _zone_readable(graph, tenant_id: str, email: str) -> bool | None:
    """False when Graph refuses the mailbox settings (the role is missing); None when it cannot tell."""
    try:
        graph.get_mailbox_time_zone(tenant_id, email)
    except MailboxAccessDenied:
        return False
    except Throttled:
        raise
    except RoomCalError:
        return None
    return True


def _check_write(graph, tenant_id: str, email: str) -> CheckResult:
    try:
        graph.decline_event(tenant_id, email, PROBE_EVENT_ID, "", send_response=False)
    except MailboxAccessDenied as exc:
        return _failed("read_only_role", exc, can_read=True)
    except MailboxNotFound as exc:
        return _failed("mailbox_not_found", exc)
    except Throttled:
        raise
    except RoomCalError as exc:
        if exc.code == "consent_missing":
            raise
        if isinstance(exc, NotFound) and str(exc.detail.get("code", "")).lower() == "erroritemnotfound":
            return CheckResult("ready", can_read=True, can_write=True)
        return _failed("write_unknown", exc, can_read=True)
    # 202: an item with this id existed and was declined. It cannot, but write access is proven.
    return CheckResult("ready", can_read=True, can_write=True)


def _failed(code: str, exc: RoomCalError, *, can_read: bool = False) -> CheckResult:
    return CheckResult(code, can_read=can_read, can_write=False if code == "read_only_role" else None,
                       graph_code=exc.detail.get("code"), request_id=exc.detail.get("request_id"))
