"""Control API for calendars and sensors: meetings as organisers make them, occupancy, ground truth, change log,
and the generator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from werkzeug.routing import Rule

from . import organizer, sensors
from .calendar import instances
from .control import ControlError, P, body_of, guarded, reply, tenant_of
from .eventshape import render_instance


def rules() -> list[Rule]:
    r = [
        ("/tenants/<tid>/meetings", create, ["POST"]),
        ("/tenants/<tid>/meetings/<mid>", meeting, ["GET", "PATCH", "DELETE"]),
        ("/tenants/<tid>/meetings/<mid>/cancel", cancel, ["POST"]),
        ("/tenants/<tid>/rooms/<email>/occupancy", occupancy, ["GET", "PUT", "POST"]),
        ("/tenants/<tid>/rooms/<email>/sensor", sensor, ["GET", "PUT", "DELETE"]),
        ("/tenants/<tid>/truth", truth, ["GET"]),
        ("/changes", changes, ["GET"]),
        ("/generate", generate, ["POST"]),
    ]
    unlocked = {create, meeting, cancel}  # they mutate via world.mutate(); listeners run after the lock is freed
    return [Rule(P + path, endpoint=guarded(fn, lock=fn not in unlocked), methods=methods) for path, fn, methods in r]


def meeting_json(m) -> dict:
    return {
        "id": m.id,
        "tenant": m.tenant_id,
        "organizer": m.organizer.email,
        "start": m.start.isoformat(),
        "end": m.end.isoformat(),
        "timeZone": m.tz,
        "recurrence": m.recurrence,
        "cancelled": m.cancelled,
        "sensitivity": m.sensitivity,
        "online": m.online,
        "rooms": [a.email for a in m.rooms()],
        "copies": {mbx: c.id for mbx, c in m.copies.items()},
        "overrides": {
            k: {"start": o.start.isoformat() if o.start else None, "removed": o.removed, "cancelled": o.cancelled}
            for k, o in m.overrides.items()
        },
    }


def _meeting(t, mid):
    m = t.meetings.get(mid)
    if m is None:
        raise ControlError(f"no meeting {mid}", 404)
    return m


def create(sim, request, tid):
    t, b = tenant_of(sim, tid), body_of(request)
    try:
        m = organizer.create_meeting(
            sim.world,
            t,
            organizer=b["organizer"],
            start=b["start"],
            end=b["end"],
            rooms=b.get("rooms", []),
            attendees=b.get("attendees"),
            tz=b.get("time_zone"),
            recurrence=b.get("recurrence"),
            subject=b.get("subject"),
            sensitivity=b.get("sensitivity", "normal"),
            online=bool(b.get("online")),
            online_provider=b.get("online_provider", "teamsForBusiness"),
            is_all_day=bool(b.get("all_day")),
            show_as=b.get("show_as", "busy"),
            created=datetime.fromisoformat(b["created"].replace("Z", "+00:00")) if b.get("created") else None,
        )
    except organizer.MeetingError as err:
        raise ControlError(str(err)) from err
    with sim.world.lock:
        return reply(meeting_json(m), 201)


def meeting(sim, request, tid, mid):
    t = tenant_of(sim, tid)
    m = _meeting(t, mid)
    if request.method == "GET":
        with sim.world.lock:
            return reply(meeting_json(m))
    try:
        if request.method == "PATCH":
            b = body_of(request)
            organizer.update_meeting(
                sim.world,
                t,
                m,
                start=b.get("start"),
                end=b.get("end"),
                occurrence=b.get("occurrence"),
                rooms=b.get("rooms"),
                subject=b.get("subject"),
                sensitivity=b.get("sensitivity"),
                online=b.get("online"),
            )
        elif request.method == "DELETE":
            organizer.delete_meeting(sim.world, t, m, occurrence=request.args.get("occurrence"))
            return reply({"ok": True})
    except organizer.MeetingError as err:
        raise ControlError(str(err)) from err
    with sim.world.lock:
        return reply(meeting_json(m))


def cancel(sim, request, tid, mid):
    t, b = tenant_of(sim, tid), body_of(request)
    m = _meeting(t, mid)
    try:
        organizer.cancel_meeting(sim.world, t, m, occurrence=b.get("occurrence"), remove=bool(b.get("remove")))
    except organizer.MeetingError as err:
        raise ControlError(str(err)) from err
    return reply({"ok": True})


def _aware(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def occupancy(sim, request, tid, email):
    """PUT replaces the room's timeline, POST appends: ``{"intervals": [{"start", "end", "people"}]}``."""
    t = tenant_of(sim, tid)
    key = email.lower()
    if request.method in ("PUT", "POST"):
        rows = [(_aware(i["start"]), _aware(i["end"]), int(i.get("people", 1))) for i in body_of(request)["intervals"]]
        if any(e <= s for s, e, _ in rows):
            raise ControlError("every interval needs end > start")
        timeline = [] if request.method == "PUT" else list(t.occupancy.get(key, []))
        t.occupancy[key] = sorted(timeline + rows)
    return reply({"room": key, "intervals": occupancy_json(t.occupancy.get(key, []))})


def sensor(sim, request, tid, email):
    """PUT ``{"id": "sn-1", "outages": [{"start", "end"}]}`` gives the room a sensor (silent in the outages);
    DELETE removes it. The presence truth (``occupancy``) is what happened; a sensor reports it outside outages."""
    t = tenant_of(sim, tid)
    key = email.lower()
    if request.method == "PUT":
        b = body_of(request)
        if not isinstance(b.get("id"), str) or not b["id"]:
            raise ControlError("a sensor needs an id")
        rows = [(_aware(o["start"]), _aware(o["end"])) for o in b.get("outages", [])]
        if any(e <= s for s, e in rows):
            raise ControlError("every outage needs end > start")
        t.sensors[key], t.sensor_outages[key] = b["id"], sorted(rows)
    elif request.method == "DELETE":
        t.sensors.pop(key, None)
        t.sensor_outages.pop(key, None)
    return reply(sensor_json(t, key))


def sensor_json(t, email: str) -> dict | None:
    if email not in t.sensors:
        return None
    return {"id": t.sensors[email], "outages": sensors.outages_json(t.sensor_outages.get(email, []))}


def occupancy_json(rows, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    return [
        {"start": s.isoformat().replace("+00:00", "Z"), "end": e.isoformat().replace("+00:00", "Z"), "people": n}
        for s, e, n in rows
        if (start is None or e > start) and (end is None or s < end)
    ]


def truth(sim, request, tid):
    """Every room mailbox's live events as calendarView would return them over [start, end), plus sensors;
    ``?room=`` (repeatable) limits the answer to those rooms."""
    t = tenant_of(sim, tid)
    now = sim.world.clock.now()
    start = _aware(request.args["start"]) if request.args.get("start") else now - timedelta(days=30)
    end = _aware(request.args["end"]) if request.args.get("end") else now + timedelta(days=30)
    only = {r.lower() for r in request.args.getlist("room")} or None
    return reply(truth_json(t, start, end, only))


def truth_json(t, start: datetime, end: datetime, only: set[str] | None = None) -> dict:
    """Ground truth for one tenant: each room's calendarView over [start, end) and its sensor timeline."""
    rooms = {}
    # rooms, room mailboxes, and any mailbox the generator labelled (e.g. ``not_a_room``: a person's or shared
    # mailbox put into the rooms group by mistake, which /places never lists but a test may register by e-mail)
    emails = set(t.places) | {e for e, m in t.mailboxes.items() if m.kind == "room"} | set(t.labels)
    for email in sorted(emails):
        if only is not None and email not in only:
            continue
        found = [i for c in t.by_mailbox.get(email, []) for i in instances(c, start, end)]
        found.sort(key=lambda i: (i.start, i.id))
        mbx, place = t.mailboxes.get(email), t.places.get(email)
        rooms[email] = {
            "listed_as_room": place is not None and not place.hidden,
            "mailbox": None
            if mbx is None
            else {
                "id": mbx.id,
                "kind": mbx.recipient_type,
                "exchange_enabled": mbx.exchange_enabled,
                "country": mbx.country,
                "time_zone": mbx.time_zone,  # what mailboxSettings answers (as a Windows name, see mailboxsettings)
            },
            "events": [render_instance(i) for i in found],
            "occupancy": occupancy_json(t.occupancy.get(email, []), start, end),
            "sensor": sensor_json(t, email),
            "misconfiguration": t.labels.get(email),
        }
    return {
        "tenant": t.id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rooms": rooms,
        "misconfigured": dict(sorted(t.labels.items())),  # email → label, for registering them by e-mail
        "analytics_profile": t.analytics_profile,  # what generator_stats planted (unbooked room, declines, ...)
    }


def changes(sim, request):
    since = int(request.args.get("since", 0))
    return reply([r.as_json() for r in sim.world.changes.since(since)])


def generate(sim, request):
    from . import generator

    b = body_of(request)
    t = generator.generate(
        sim.world,
        seed=int(b.get("seed", sim.world.seed)),
        rooms=int(b.get("rooms", 20)),
        days_back=int(b.get("days_back", 182)),
        days_ahead=int(b.get("days_ahead", 182)),
        anchor=b.get("anchor"),
        tenant_id=b.get("tenant_id"),
        buildings=int(b["buildings"]) if b.get("buildings") else None,
    )
    return reply({"tenant": t.id, "domain": t.domain, "rooms": len(t.places), "meetings": len(t.meetings)}, 201)
