"""What people do to meetings: book, move, extend, cancel, delete (as the organiser), and a room's decline.

Every function here mutates through ``world.mutate()`` and appends one ``ChangeRecord`` per affected calendar
copy, which is what Exchange would raise a change notification for.
"""

from __future__ import annotations

from datetime import UTC, datetime

from . import recurrence as rec
from .calendar import Attendee, Copy, Meeting, Override, series_has_occurrence
from .world import Tenant, World


class MeetingError(ValueError):
    pass


def parse_local(value: str | datetime, tz) -> datetime:
    """An ISO time with an offset is converted into ``tz``; without one it is read as ``tz`` wall-clock time."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt.astimezone(tz).replace(tzinfo=None) if dt.tzinfo else dt


def _attendees(tenant: Tenant, organizer: Attendee, attendees: list[dict], rooms: list[str]) -> list[Attendee]:
    out = [Attendee(organizer.email, organizer.name, "required")]
    for a in attendees:
        out.append(Attendee(a["email"], a.get("name") or a["email"].split("@")[0], a.get("type", "required")))
    for r in rooms:
        place, mbx = tenant.places.get(r.lower()), tenant.mailboxes.get(r.lower())
        name = place.name if place else (mbx.name if mbx else r)
        out.append(Attendee(r, name, "resource"))
    return out


def _sync_copies(world: World, tenant: Tenant, m: Meeting, log: bool) -> None:
    """Give every Exchange-enabled attendee mailbox a copy; drop copies of mailboxes no longer invited."""
    wanted = {a.email.lower() for a in m.attendees}
    for email in list(m.copies):
        if email not in wanted:
            copy = m.copies.pop(email)
            _drop_copy(world, tenant, copy, log)
    for email in wanted:
        mbx = tenant.mailboxes.get(email)
        if mbx is None or not mbx.exchange_enabled or email in m.copies:
            continue
        copy = add_copy(world, tenant, m, email)
        if log:
            world.record(tenant.id, mbx, copy.id, None, "created")


def add_copy(world: World, tenant: Tenant, m: Meeting, email: str) -> Copy:
    """Put meeting ``m`` into mailbox ``email`` (lower-case) with a fresh event id; no change record."""
    mbx = tenant.mailboxes.get(email)
    copy = Copy(meeting=m, mailbox=email, raw=world.raw_id(), accepted_at=m.modified,
                private_cleared=bool(mbx and mbx.clears_private_flag))
    m.copies[email] = copy
    tenant.copies[copy.raw] = copy
    tenant.by_mailbox.setdefault(email, []).append(copy)
    return copy


def _drop_copy(world: World, tenant: Tenant, copy: Copy, log: bool) -> None:
    tenant.copies.pop(copy.raw, None)
    lst = tenant.by_mailbox.get(copy.mailbox, [])
    if copy in lst:
        lst.remove(copy)
    if log:
        world.record(tenant.id, tenant.mailboxes[copy.mailbox], copy.id, None, "deleted")


def _touch_all(world: World, tenant: Tenant, m: Meeting, key: str | None, change: str = "updated") -> None:
    for copy in m.copies.values():
        ident = copy.occurrence_id(key) if key else copy.id
        world.record(tenant.id, tenant.mailboxes[copy.mailbox], ident, copy.id if key else None, change)


def create_meeting(
    world: World,
    tenant: Tenant,
    *,
    organizer: dict,
    start,
    end,
    rooms: list[str],
    attendees: list[dict] | None = None,
    tz: str | None = None,
    recurrence: dict | None = None,
    subject: str | None = None,
    sensitivity: str = "normal",
    online: bool = False,
    online_provider: str = "teamsForBusiness",
    pasted_join: str | None = None,
    is_all_day: bool = False,
    show_as: str = "busy",
    created: datetime | None = None,
    log: bool = True,
    meeting_id: str | None = None,
) -> Meeting:
    with world.mutate():
        if tz is None:
            first = next((tenant.mailboxes.get(r.lower()) for r in rooms if tenant.mailboxes.get(r.lower())), None)
            tz = first.time_zone if first else "UTC"
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(tz)
        ls, le = parse_local(start, zone), parse_local(end, zone)
        if le <= ls:
            raise MeetingError("end must be after start")
        if recurrence is not None:
            rec.validate(recurrence)
        now = created or world.clock.now()
        org = Attendee(organizer["email"], organizer.get("name") or organizer["email"].split("@")[0])
        m = Meeting(
            id=meeting_id or world.guid(),
            tenant_id=tenant.id,
            organizer=org,
            attendees=_attendees(tenant, org, attendees or [], rooms),
            start=ls,
            end=le,
            tz=tz,
            created=now,
            modified=now,
            stamp=world.next_stamp(),
            subject=subject,
            recurrence=recurrence,
            sensitivity=sensitivity,
            online=online,
            online_provider=online_provider,
            pasted_join=pasted_join,
            is_all_day=is_all_day,
            show_as=show_as,
        )
        tenant.meetings[m.id] = m
        _sync_copies(world, tenant, m, log)
        return m


def update_meeting(
    world: World,
    tenant: Tenant,
    m: Meeting,
    *,
    start=None,
    end=None,
    occurrence: str | None = None,
    rooms: list[str] | None = None,
    subject: str | None = None,
    sensitivity: str | None = None,
    online: bool | None = None,
) -> Meeting:
    """Move or extend a meeting (or one occurrence), change its rooms or details."""
    with world.mutate():
        now, stamp = world.clock.now(), world.next_stamp()
        if occurrence:
            if not series_has_occurrence(m, occurrence):
                raise MeetingError(f"meeting has no occurrence on {occurrence}")
            o = m.own_overrides().setdefault(occurrence, Override())
            base_s = o.start or datetime.combine(datetime.fromisoformat(occurrence).date(), m.start.time())
            base_e = o.end or base_s + m.duration
            o.start = parse_local(start, m.zone) if start else base_s
            o.end = parse_local(end, m.zone) if end else base_e
            if o.end <= o.start:
                raise MeetingError("end must be after start")
            o.stamp, o.modified = stamp, now
            _touch_all(world, tenant, m, occurrence)
            return m
        new_s = parse_local(start, m.zone) if start else m.start
        new_e = parse_local(end, m.zone) if end else (new_s + m.duration if start else m.end)
        if new_e <= new_s:
            raise MeetingError("end must be after start")
        if m.recurrence and new_s.date() != m.start.date():
            m.recurrence = {**m.recurrence, "range": {**m.recurrence["range"], "startDate": new_s.date().isoformat()}}
        m.start, m.end = new_s, new_e
        if subject is not None:
            m.subject = subject
        if sensitivity is not None:
            m.sensitivity = sensitivity
        if online is not None:
            m.online = online
        m.stamp, m.modified = stamp, now
        if rooms is not None:
            others = [
                {"email": a.email, "name": a.name, "type": a.type} for a in m.attendees[1:] if a.type != "resource"
            ]
            m.attendees = _attendees(tenant, m.organizer, others, rooms)
            _sync_copies(world, tenant, m, True)
        _touch_all(world, tenant, m, None)
        return m


def cancel_meeting(
    world: World, tenant: Tenant, m: Meeting, *, occurrence: str | None = None, remove: bool = False
) -> None:
    """The organiser cancels. ``remove`` models a room that deletes cancelled meetings (AutomateProcessing
    AutoAccept's default); otherwise the copy stays with isCancelled = true."""
    with world.mutate():
        now, stamp = world.clock.now(), world.next_stamp()
        if occurrence:
            if not series_has_occurrence(m, occurrence):
                raise MeetingError(f"meeting has no occurrence on {occurrence}")
            o = m.own_overrides().setdefault(occurrence, Override())
            o.cancelled, o.removed, o.stamp, o.modified = True, remove, stamp, now
            _touch_all(world, tenant, m, occurrence, "deleted" if remove else "updated")
            return
        if remove:
            delete_meeting(world, tenant, m)
            return
        m.cancelled, m.stamp, m.modified = True, stamp, now
        _touch_all(world, tenant, m, None)


def delete_meeting(world: World, tenant: Tenant, m: Meeting, *, occurrence: str | None = None) -> None:
    with world.mutate():
        if occurrence:
            if not series_has_occurrence(m, occurrence):
                raise MeetingError(f"meeting has no occurrence on {occurrence}")
            o = m.own_overrides().setdefault(occurrence, Override())
            o.removed, o.stamp, o.modified = True, world.next_stamp(), world.clock.now()
            _touch_all(world, tenant, m, occurrence, "deleted")
            return
        for copy in list(m.copies.values()):
            _drop_copy(world, tenant, copy, True)
        m.copies.clear()
        tenant.meetings.pop(m.id, None)


def decline(world: World, tenant: Tenant, copy: Copy, key: str | None) -> None:
    """The mailbox owner (here: the app, on the room's behalf) declines one occurrence or the whole event."""
    with world.mutate():
        copy.own_declines()[key or "*"] = (world.next_stamp(), world.clock.now().astimezone(UTC))
        mbx = tenant.mailboxes[copy.mailbox]
        world.record(tenant.id, mbx, copy.occurrence_id(key) if key else copy.id, copy.id if key else None, "updated")
