"""'Continue setup': check every registered room live against Graph, one queue message per room.

Verifications table: PartitionKey tenant id, RowKey ``latest``: run, total, started_at,
started_by, last_change_at, warnings (JSON). RoomChecks table: PartitionKey tenant id,
RowKey room e-mail: run, code, can_read, can_write, graph_code, request_id, checked_at.
Progress is counted from RoomChecks rows of the current run, so workers never contend on
a counter.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from datetime import datetime, timedelta

from shared import keys
from shared.errors import AccessDenied, InvalidInput, NotFound, RoomCalError, Throttled
from shared.log import log_event
from shared.onboarding import rooms, tenants
from shared.onboarding.consent import tenant_wide_calendar_roles
from shared.onboarding.room_checks import (
    DIRECTORY_DELAY,
    RBAC_DELAY_NOTE,
    RECHECKED_CODES,
    CheckResult,
    check_room,
)
from shared.ops import audit

log = logging.getLogger("roomcal.verification")

QUEUE = "room-verify"
RUNS, CHECKS = "Verifications", "RoomChecks"
_LATEST = "latest"
ROOMS_PER_SECOND = 25  # spread a large tenant's messages so Graph sees a steady rate
MAX_THROTTLED_ATTEMPTS = 6
RECHECK_WINDOW = timedelta(hours=3)
SYNC_QUEUE = "room-changes"


def start(tables, queues, clock, tokens, graph, tenant_id: str, *, actor: str) -> dict:
    tenant = tenants.load_connected(tables, tenant_id)
    warnings = _token_warnings(tables, clock, tokens, tenant.id)
    places = _room_places(graph, tenant.id, warnings)
    registered = rooms.all_rooms(tables, tenant.id)
    run = uuid.uuid4().hex[:12]
    now = clock.now()
    tables.upsert(RUNS, {"PartitionKey": tenant.id, "RowKey": _LATEST, "run": run, "total": len(registered),
                         "started_at": now.isoformat(), "started_by": actor, "last_change_at": now.isoformat(),
                         "warnings": json.dumps(warnings)})
    for index, room in enumerate(registered):
        listed = None if places is None else room.email in places
        enqueue_check(queues, tenant.id, room.email, run, listed, delay_seconds=index // ROOMS_PER_SECOND)
    audit.record(tables, clock, tenant_id=tenant.id, action="verify.started", actor=actor,
                 detail={"rooms": len(registered), "warnings": len(warnings)})
    return {**progress(tables, tenant.id), "note": RBAC_DELAY_NOTE}


def enqueue_check(queues, tenant_id: str, email: str, run: str, listed_in_places: bool | None, *,
                  attempt: int = 1, delay_seconds: int = 0) -> None:
    queues.send(QUEUE, {"tenant": tenant_id, "room": email, "run": run, "listed_in_places": listed_in_places,
                        "attempt": attempt}, delay_seconds=delay_seconds)


def _token_warnings(tables, clock, tokens, tenant_id: str) -> list[str]:
    try:
        roles = tokens.roles(tenant_id)
    except AccessDenied as exc:
        tenants.flag(tables, clock, tenant_id, f"consent revoked or missing: {exc.message}")
        raise
    calendar = tenant_wide_calendar_roles(list(roles))
    if not calendar:
        return []
    return [f"DANGER: RoomCal holds tenant-wide {', '.join(calendar)} in Microsoft Entra ID. Entra and "
            "Exchange RBAC grants add up, so RoomCal can read EVERY mailbox and the room-only scope has no "
            "effect. Fix: Entra admin centre > Enterprise applications > RoomCal > Permissions: revoke "
            f"{', '.join(calendar)} (RoomCal only needs Place.Read.All and User.Read.All there)."]


def _room_places(graph, tenant_id: str, warnings: list[str]) -> set[str] | None:
    try:
        places = list(graph.list_rooms(tenant_id))
    except RoomCalError as exc:
        warnings.append(f"could not list the tenant's rooms (/places: {exc.message}); the 'not a room "
                        "mailbox' check was skipped. Fix: grant RoomCal Place.Read.All (admin consent).")
        return None
    found = set()
    for place in places:
        # One place with an address RoomCal cannot register (none, or e.g. a '#') is just not one of its rooms.
        with contextlib.suppress(InvalidInput):
            found.add(keys.normalise_email(place.get("emailAddress")))
    return found


def verify_room(tables, queues, clock, graph, message: dict) -> dict | None:
    """Handle one room-verify message; None when it no longer applies (room or tenant gone)."""
    tenant_id, email, run, listed, attempt = _parse(message)
    try:
        tenant = tenants.load_connected(tables, tenant_id)
        room = rooms.load(tables, tenant_id, email)
    except NotFound:
        return None
    if listed is None:
        listed = _is_listed(graph, tenant_id, email)
    try:
        result = check_room(graph, tenant_id, email, now=clock.now(), want_write=tenant.settings.noshow_release,
                            listed_in_places=listed)
    except Throttled as exc:
        if attempt < MAX_THROTTLED_ATTEMPTS:
            delay = int(min(max(exc.retry_after, 1.0) * attempt, 900))
            enqueue_check(queues, tenant_id, email, run, listed, attempt=attempt + 1, delay_seconds=delay)
        result = CheckResult("throttled")
    except AccessDenied as exc:  # consent revoked after onboarding
        tenants.flag(tables, clock, tenant_id, f"consent revoked or missing: {exc.message}")
        result = CheckResult("consent_missing")
    unlisted_since = _unlisted_since(tables, clock, tenant_id, room.email, result)
    if result.code == "not_in_directory_yet" and clock.now() - unlisted_since > DIRECTORY_DELAY:
        result = CheckResult("not_a_room_mailbox", can_read=True)
    _record(tables, clock, tenant_id, room.email, run, result, unlisted_since)
    if result.code == "ready" and tenant.status == "active" and room.last_sync_at is None:
        queues.send(SYNC_QUEUE, {"tenant": tenant_id, "room": room.email, "reason": "initial",
                                 "at": clock.now().isoformat()})
    log_event(log, "room verified", tenant=tenant_id, room=room.email, code=result.code, attempt=attempt)
    return {"room": room.email, "code": result.code}


def _parse(message: dict) -> tuple[str, str, str, bool | None, int]:
    try:
        tenant_id = keys.normalise_tenant_id(message["tenant"])
        email = keys.normalise_email(message["room"])
        run = str(message.get("run") or "")[:32]
        listed = message.get("listed_in_places")
        attempt = int(message.get("attempt") or 1)
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("room-verify message needs tenant, room, run") from None
    return tenant_id, email, run, listed if isinstance(listed, bool) else None, attempt


def _is_listed(graph, tenant_id: str, email: str) -> bool | None:
    places = _room_places(graph, tenant_id, [])
    return None if places is None else email in places


def _unlisted_since(tables, clock, tenant_id: str, email: str, result: CheckResult) -> datetime | None:
    """When checks first found this mailbox missing from /places (kept across runs), else None. A denied one
    counts too: a new room can be outside Exchange's RBAC cache (2 h) and the directory (48 h) at once."""
    if result.code not in ("not_in_directory_yet", "not_a_room_mailbox"):
        return None
    try:
        previous = tables.get(CHECKS, tenant_id, email).get("unlisted_since")
    except NotFound:
        previous = None
    return datetime.fromisoformat(previous) if previous else clock.now()


def _record(tables, clock, tenant_id: str, email: str, run: str, result: CheckResult,
            unlisted_since: datetime | None = None) -> None:
    status, reason, fix = result.words()
    now = clock.now().isoformat()
    tables.upsert(CHECKS, {"PartitionKey": tenant_id, "RowKey": email, "run": run, "code": result.code,
                           "can_read": result.can_read, "can_write": result.can_write, "checked_at": now,
                           "graph_code": result.graph_code, "request_id": result.request_id,
                           "unlisted_since": unlisted_since.isoformat() if unlisted_since else None})
    tables.merge(rooms.TABLE, {"PartitionKey": tenant_id, "RowKey": email, "sync_status": status,
                               "sync_reason": reason, "sync_fix": fix})


def progress(tables, tenant_id: str) -> dict:
    tenant = tenants.load(tables, tenant_id)
    try:
        latest = tables.get(RUNS, tenant.id, _LATEST)
    except NotFound:
        raise NotFound(f"tenant {tenant.id} has not been verified yet",
                       fix="choose 'Continue setup' (POST /api/tenants/{tenant}/verify)") from None
    # Every registered room belongs to the run (start enqueues them all, add_rooms the later ones);
    # a room removed meanwhile takes its check row with it, so it must leave the total too.
    registered = {room.email for room in rooms.all_rooms(tables, tenant.id)}
    checks = [row for row in tables.query(CHECKS, tenant.id)
              if row.get("run") == latest["run"] and row["RowKey"] in registered]
    by_code: dict[str, int] = {}
    for row in checks:
        by_code[row["code"]] = by_code.get(row["code"], 0) + 1
    done = len(checks) >= len(registered) and not by_code.get("throttled")
    return {"tenant_id": tenant.id, "run": latest["run"], "verified": len(checks), "total": len(registered),
            "done": done, "by_reason": by_code, "warnings": json.loads(latest.get("warnings") or "[]"),
            "tenant_reason": tenant.reason, "started_at": latest["started_at"], "note": RBAC_DELAY_NOTE}


def touch(tables, clock, tenant_id: str) -> None:
    """Note a change (rooms registered, RBAC re-run) so the re-check timer keeps going."""
    with contextlib.suppress(NotFound):  # never verified: nothing to re-check yet
        tables.merge(RUNS, {"PartitionKey": tenant_id, "RowKey": _LATEST, "last_change_at": clock.now().isoformat()})


def recheck_denied(tables, queues, clock) -> int:
    """Timer: re-check rooms denied by RBAC (or throttled) within 3 hours of the last change, and rooms
    not yet in Microsoft's room directory for 48 hours after first seen (the check lists /places again)."""
    sent, now = 0, clock.now()
    for tenant in tenants.all_tenants(tables):
        if tenant.status not in ("consented", "active"):
            continue
        try:
            latest = tables.get(RUNS, tenant.id, _LATEST)
        except NotFound:
            continue
        rbac_window = now - datetime.fromisoformat(latest["last_change_at"]) <= RECHECK_WINDOW
        for row in tables.query(CHECKS, tenant.id):
            listed = _recheck_listing(row, now, rbac_window)
            if listed is not False:
                enqueue_check(queues, tenant.id, row["RowKey"], latest["run"], listed,
                              delay_seconds=sent // ROOMS_PER_SECOND)
                sent += 1
    return sent


def _recheck_listing(row: dict, now: datetime, rbac_window: bool) -> bool | None:
    """False: no re-check; True: re-check access (the room is listed); None: re-check and list /places again."""
    if row.get("code") == "not_in_directory_yet":
        return None  # verify_room turns it into "not a room mailbox" once the 48 hours are over
    since = row.get("unlisted_since")
    if row.get("code") == "not_a_room_mailbox" and since and now - datetime.fromisoformat(since) <= DIRECTORY_DELAY:
        return None  # denied and unlisted: maybe a new room both Exchange's RBAC cache and the directory lag on
    return bool(rbac_window and row.get("code") in RECHECKED_CODES)


def add_rooms(tables, queues, clock, tenant_id: str, emails: list[str]) -> None:
    """Newly registered rooms of an already verified tenant join the current run automatically."""
    try:
        latest = tables.get(RUNS, tenant_id, _LATEST)
    except NotFound:
        return  # never verified: 'Continue setup' will check them
    tables.merge(RUNS, {"PartitionKey": tenant_id, "RowKey": _LATEST, "total": latest["total"] + len(emails),
                        "last_change_at": clock.now().isoformat()})
    for index, email in enumerate(emails):
        enqueue_check(queues, tenant_id, email, latest["run"], None, delay_seconds=index // ROOMS_PER_SECOND)
