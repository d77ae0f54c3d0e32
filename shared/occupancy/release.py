"""The opt-in no-show release: decline, as the room, a meeting nobody came to within the grace period.

A sweep (timer, or ``POST /api/tenants/{tenant}/noshow/release``) looks at meetings whose grace period has passed
and that have not ended. One is released only when every rule holds (``Policy.refusal`` names the first that
does not): the tenant turned the release on (a dry run only lists); the room is in scope, has a sensor that is
not stale, and its last live check proved write access (RoomChecks ``can_write``); the meeting counts (not
cancelled, not declined by the room), is timed, shorter than the long-block limit and was booked at least
``noshow_min_lead_minutes`` before it started; the sensor saw every minute of the grace period and nobody in the
room from the start until now; and it was not handled before.

Graph ids are not stored, so the live event is found again by room and time (calendarView) and recognised by
hashing its id into the Events RowKey. Exactly once: a ``pending`` row in NoShowReleases is inserted before the
decline (a second sweep cannot insert it again), turned ``released`` after it; a pending row left by a crash is
finished by checking whether the room's copy is already declined, never by declining twice.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared import keys
from shared.analytics import definitions as d
from shared.errors import Conflict, MailboxAccessDenied, NotFound, RoomCalError, Throttled, Unavailable
from shared.log import log_event
from shared.models import Room, RoomEvent, Tenant
from shared.occupancy.directory import RoomIndex, all_tenants, load_tenant, write_verified
from shared.occupancy.health import status_of
from shared.occupancy.monthly import MonthlyFigures
from shared.occupancy.report import EVENTS, RELEASES, load_events, room_zone
from shared.occupancy.store import OccupancyStore
from shared.occupancy.timeline import MINUTE, NO_DATA, OCCUPIED, ceil_minute, floor_minute, minute_states
from shared.ops import audit
from shared.timezones import to_utc

log = logging.getLogger("roomcal.noshow")
LOOKBACK = timedelta(hours=2)  # meetings that started longer ago are left alone (the sweep runs every 5 min)
ACTOR = "noshow-release"
SWEEP_THREADS = 8  # table reads per room overlap; Graph calls stay within its per-mailbox limit (one room each)


@dataclass(frozen=True)
class Policy:
    grace_minutes: int = 10
    long_block_minutes: int = 480
    min_lead_minutes: int = 10
    rooms: frozenset[str] = frozenset()
    buildings: frozenset[str] = frozenset()
    series_strikes: int = 0

    @classmethod
    def of(cls, tenant: Tenant, **overrides) -> Policy:
        s = tenant.settings
        base = cls(grace_minutes=s.grace_minutes, long_block_minutes=s.noshow_long_block_minutes,
                   min_lead_minutes=s.noshow_min_lead_minutes, rooms=frozenset(s.noshow_release_rooms),
                   buildings=frozenset(s.noshow_release_buildings), series_strikes=s.noshow_series_strikes)
        return cls(**{**base.__dict__, **{k: v for k, v in overrides.items() if v is not None}})

    def in_scope(self, room: Room) -> bool:
        if not self.rooms and not self.buildings:
            return True
        return room.email in self.rooms or (room.building or "") in self.buildings

    def booking_refusal(self, event: RoomEvent) -> str | None:
        """Why this booking is never released, whatever the sensor says; None when it may be."""
        if not d.counts(event):
            return "not_counted"
        if event.is_all_day:
            return "all_day"
        if event.end_utc - event.start_utc >= timedelta(minutes=self.long_block_minutes):
            return "long_block"
        if event.created_utc is not None and event.start_utc - event.created_utc < timedelta(
                minutes=self.min_lead_minutes):
            return "booked_at_the_last_moment"
        return None


def presence_refusal(states: bytes, origin: datetime, event: RoomEvent, now: datetime, grace: int) -> str | None:
    """Why the sensor does not allow a release at ``now``: states cover [origin, now) minute by minute."""
    a = max(0, (floor_minute(event.start_utc) - origin) // MINUTE)
    g = a + grace
    upto = max(g, (floor_minute(now) - origin) // MINUTE)
    if len(states) < g:
        return "grace_not_over"
    head = states[a:g]
    if OCCUPIED in states[a:upto]:
        return "presence"
    if NO_DATA in head:
        return "no_sensor_data"
    return None


@dataclass
class Outcome:
    room: str
    event: str  # RowKey of the Events row (a keyed hash), never a Graph id
    start: datetime
    end: datetime
    decision: str  # would_release | released | skipped | failed
    reason: str = ""

    def as_dict(self) -> dict:
        return {"room": self.room, "event": self.event, "start": _z(self.start), "end": _z(self.end),
                "decision": self.decision, "reason": self.reason}


@dataclass
class SweepResult:
    tenant: str
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    graph_calls: int = 0

    def as_dict(self) -> dict:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.decision] = counts.get(o.decision, 0) + 1
        return {"tenant": self.tenant, "dry_run": self.dry_run, "counts": counts, "graph_calls": self.graph_calls,
                "meetings": [o.as_dict() for o in self.outcomes]}


def comment_for(room: Room, event: RoomEvent, grace: int, zone) -> str:
    start = event.start_utc.astimezone(zone).strftime("%H:%M")
    name = room.display_name or room.email
    return (f"RoomCal released {name}: its occupancy sensor detected nobody in the room within {grace} minutes "
            f"of the {start} start, so the room is free for others again. The meeting itself stays in your "
            "calendar; book a room again if you still need one.")


class NoShowRelease:
    def __init__(self, tables, clock, graph, *, hash_key: str, hold: int, stale_minutes: int) -> None:
        self._tables, self._clock, self._graph = tables, clock, graph
        self._hash_key, self._hold, self._stale = hash_key, hold, stale_minutes
        self._store = OccupancyStore(tables)

    def sweep_all(self) -> list[dict]:
        """The timer: every tenant that turned the release on."""
        results = []
        for tenant in all_tenants(self._tables):
            if tenant.settings.noshow_release and tenant.status in ("active", "consented"):
                try:
                    results.append(self.sweep(tenant.id).as_dict())
                except RoomCalError as exc:
                    log_event(log, "noshow.sweep_failed", level=logging.WARNING, tenant=tenant.id, error=exc.code)
        return results

    def sweep(self, tenant_id: str, *, dry_run: bool = False) -> SweepResult:
        tenant = load_tenant(self._tables, tenant_id)
        if not dry_run and not tenant.settings.noshow_release:
            raise Conflict("no-show release is off for this tenant",
                           fix="PATCH /api/tenants/{tenant}/settings {\"noshow_release\": true} after reviewing "
                               "the policy simulator and a dry run")
        policy, now = Policy.of(tenant), self._clock.now()
        result = SweepResult(tenant.id, dry_run)
        writable = write_verified(self._tables, tenant.id)
        rooms = [r for r in RoomIndex.load(self._tables, tenant.id).with_sensor() if policy.in_scope(r)]

        def one(room: Room) -> SweepResult:  # rooms are independent: their reads overlap in a small pool
            part = SweepResult(tenant.id, dry_run)
            self._sweep_room(tenant, room, policy, now, writable.get(room.email, False), part)
            return part

        with ThreadPoolExecutor(max_workers=SWEEP_THREADS) as pool:
            for part in pool.map(one, rooms):
                result.outcomes += part.outcomes
                result.graph_calls += part.graph_calls
        log_event(log, "noshow.swept", tenant=tenant.id, dry_run=dry_run, graph_calls=result.graph_calls,
                  **{f"n_{k}": v for k, v in result.as_dict()["counts"].items()})
        return result

    def _sweep_room(self, tenant: Tenant, room: Room, policy: Policy, now: datetime, can_write: bool,
                    result: SweepResult) -> None:
        grace = timedelta(minutes=policy.grace_minutes)
        events = [e for e in load_events(self._tables, tenant.id, room.email, now - LOOKBACK, now)
                  if now - LOOKBACK <= e.start_utc <= now - grace and e.end_utc > now]
        if not events:
            return
        origin = floor_minute(min(e.start_utc for e in events))
        stored = self._store.load(tenant.id, room.email, origin.date() - timedelta(days=1), now.date())
        states = bytes(minute_states(stored, origin, floor_minute(now), hold=self._hold))
        last = max((rd.last_report for rd in stored.values() if rd.last_report), default=None)
        stale = status_of(last, now, self._stale) != "ok"
        handled = self._handled(tenant.id, room.email)
        for event in sorted(events, key=lambda e: e.start_utc):
            outcome = Outcome(room.email, event.row_key, event.start_utc, event.end_utc, "skipped")
            result.outcomes.append(outcome)
            previous = handled.get(event.row_key)
            if previous is not None and previous != "pending":
                outcome.reason = f"already_{previous}"
                continue
            reason = (policy.booking_refusal(event) or ("stale_sensor" if stale else None)
                      or presence_refusal(states, origin, event, now, policy.grace_minutes)
                      or (None if can_write else "write_access_not_verified"))
            if reason:
                outcome.reason = reason
                continue
            if result.dry_run:
                outcome.decision = "would_release"
                continue
            self._release(tenant, room, event, policy, outcome, result, resume=previous == "pending")

    def _handled(self, tenant_id: str, room: str) -> dict[str, str]:
        pk = keys.room_partition(tenant_id, room)
        return {row["RowKey"]: row.get("outcome", "") for row in self._tables.query(RELEASES, pk,
                                                                                   select=["RowKey", "outcome"])}

    def _release(self, tenant, room, event, policy, outcome: Outcome, result: SweepResult, *, resume: bool) -> None:
        pk = keys.room_partition(tenant.id, room.email)
        zone = room_zone(room, tenant, self._tables)
        row = {"PartitionKey": pk, "RowKey": event.row_key, "outcome": "pending",
               "day": event.start_utc.astimezone(zone).date().isoformat(), "start_utc": event.start_utc,
               "end_utc": event.end_utc, "grace_minutes": policy.grace_minutes, "series_key": event.series_key or "",
               "at": self._clock.now()}
        if not resume:
            try:
                self._tables.insert(RELEASES, row)
            except Conflict:
                outcome.reason = "handled_by_another_sweep"
                return
        try:
            live = self._find_live(tenant.id, room.email, event, result)
            if live is None:
                self._finish(row, "not_found", outcome, "skipped", "event_moved_or_deleted")
                return
            if _room_declined(live, room.email):
                self._finish(row, "released", outcome, "released", "already_declined_by_room")
                return
            result.graph_calls += 1
            self._graph.decline_event(tenant.id, room.email, live["id"], comment_for(room, event, policy.grace_minutes,
                                                                                     zone), send_response=True)
        except MailboxAccessDenied:
            self._finish(row, "refused", outcome, "failed", "no_write_permission")
            return
        except (Throttled, Unavailable) as exc:
            self._tables.delete(RELEASES, pk, event.row_key)  # the next sweep tries again
            outcome.decision, outcome.reason = "failed", exc.code
            return
        except NotFound:
            self._finish(row, "not_found", outcome, "skipped", "event_moved_or_deleted")
            return
        self._finish(row, "released", outcome, "released", "")
        audit.record(self._tables, self._clock, tenant_id=tenant.id, action="noshow.released", actor=ACTOR,
                     detail={"room": room.email, "event": event.row_key, "start": _z(event.start_utc),
                             "end": _z(event.end_utc), "grace_minutes": policy.grace_minutes})
        log_event(log, "noshow.released", tenant=tenant.id, room=room.email, event=event.row_key)
        if policy.series_strikes and event.series_key and live.get("seriesMasterId"):
            self._maybe_stop_series(tenant, room, event, live["seriesMasterId"], policy, result)

    def _maybe_stop_series(self, tenant, room, event: RoomEvent, master_id: str, policy: Policy,
                           result: SweepResult) -> None:
        """After N released occurrences in a row, decline the whole series as the room (Robin's 'strikes')."""
        pk = keys.room_partition(tenant.id, room.email)
        released = {rk for rk, o in self._handled(tenant.id, room.email).items() if o == "released"}
        flt = f"series_key eq '{event.series_key}'"
        earlier = sorted((RoomEvent.from_entity(r) for r in self._tables.query(EVENTS, pk, filter=flt)),
                         key=lambda e: e.start_utc, reverse=True)
        streak = 0
        for occurrence in earlier:
            if occurrence.start_utc > event.start_utc or not d.counts(occurrence) or \
                    occurrence.event_type == "seriesMaster":
                continue
            if occurrence.row_key not in released:
                break
            streak += 1
        if streak < policy.series_strikes:
            return
        row = {"PartitionKey": pk, "RowKey": f"series-{event.series_key}", "outcome": "series_stopped",
               "day": "", "series_key": event.series_key, "strikes": streak, "at": self._clock.now()}
        try:
            self._tables.insert(RELEASES, row)
        except Conflict:
            return
        comment = (f"RoomCal released {room.display_name or room.email} for the rest of this series: nobody came "
                   f"to the last {streak} meetings. Book a room again if the series still meets.")
        try:
            result.graph_calls += 1
            self._graph.decline_event(tenant.id, room.email, master_id, comment, send_response=True)
        except RoomCalError as exc:
            self._tables.delete(RELEASES, pk, row["RowKey"])
            log_event(log, "noshow.series_stop_failed", level=logging.WARNING, tenant=tenant.id, room=room.email,
                      error=exc.code)
            return
        audit.record(self._tables, self._clock, tenant_id=tenant.id, action="noshow.series_stopped", actor=ACTOR,
                     detail={"room": room.email, "series": event.series_key[:16], "strikes": streak})

    def _find_live(self, tenant_id: str, room: str, event: RoomEvent, result: SweepResult) -> dict | None:
        result.graph_calls += 1
        view = self._graph.list_calendar_view(tenant_id, room, floor_minute(event.start_utc),
                                              ceil_minute(event.end_utc))
        for item in view:
            if isinstance(item.get("id"), str) and keys.event_row_key(self._hash_key, room, item["id"]) == \
                    event.row_key:
                start, end = _graph_time(item.get("start")), _graph_time(item.get("end"))
                if start == event.start_utc and end == event.end_utc and not item.get("isCancelled"):
                    return item
                return None  # moved since the last sync: the sensor data was about another time
        return None

    def _finish(self, row: dict, stored: str, outcome: Outcome, decision: str, reason: str) -> None:
        self._tables.upsert(RELEASES, {**row, "outcome": stored, "reason": reason, "at": self._clock.now()})
        outcome.decision, outcome.reason = decision, reason
        if stored == "released":  # the stored sensor figures of that month count it
            tenant, room = row["PartitionKey"].split("|", 1)
            MonthlyFigures(self._tables, self._clock).mark(tenant, room, [row["day"][:7]])


def _room_declined(item: dict, room: str) -> bool:
    for a in item.get("attendees") or []:
        if (a.get("emailAddress") or {}).get("address", "").lower() == room:
            return (a.get("status") or {}).get("response") == "declined"
    return (item.get("responseStatus") or {}).get("response") == "declined"


def _graph_time(value: dict | None) -> datetime | None:
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    return to_utc(value["dateTime"], value.get("timeZone") or "UTC")


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
