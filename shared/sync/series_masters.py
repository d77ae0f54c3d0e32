"""Occurrence stubs completed from their series master, once per master per delta round.

Real calendarView delta sends an occurrence as a stub: ``id``, ``type``, ``seriesMasterId``,
``start``, ``end`` and the etag, nothing else (docs-contrib issues 5602 and 34), and never sends
the master itself (issue 7968). Organiser, attendees, show-as, sensitivity, all-day, the online
flag and the room's own response are the master's. So each distinct master of a round is read
once (``GET /users/{room}/events/{id}`` with a ``$select`` of whitelisted fields only), a few at
a time within the mailbox's concurrency limit, and merged under the occurrence's own fields.

* A master that is gone (404) means the series was deleted: its occurrences are reported as
  removed (the next rounds' ``@removed`` say the same).
* Any other failure (429 past the client's retries, 5xx, access denied) propagates before the
  page is written, so the delta link never moves past an occurrence that could not be completed;
  the round is retried from the link it started from (docs/sync-engine.md).

The merged dict still goes through privacy.normalise_event, the whitelist, like every item.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.errors import InvalidInput, MailboxNotFound, NotFound
from shared.ports import GraphPort
from shared.timezones import to_utc

# What normalise_event reads that an occurrence shares with its master; ``isOnlineMeeting`` is the
# documented flag, so the join details (onlineMeeting, onlineMeetingUrl) are never asked for.
MASTER_SELECT = ("organizer", "attendees", "isAllDay", "isCancelled", "showAs", "sensitivity", "isOnlineMeeting",
                 "responseStatus", "location", "locations", "originalStartTimeZone", "originalEndTimeZone",
                 "createdDateTime", "lastModifiedDateTime")


def is_stub(item: dict[str, Any]) -> bool:
    """An occurrence that lacks any field its master has to supply."""
    return item.get("type") == "occurrence" and "@removed" not in item and not set(MASTER_SELECT) <= item.keys()


class SeriesMasters:
    """One delta round's masters: ``complete(items)`` returns the page with every stub completed."""

    def __init__(self, graph: GraphPort, tenant: str, room: str, *, concurrency: int = 4) -> None:
        self._graph, self._tenant, self._room = graph, tenant, room
        self._concurrency = max(1, concurrency)
        self._masters: dict[str, dict | None] = {}  # master id → its whitelisted fields, None when gone

    def complete(self, items: Iterable[dict]) -> list[dict]:
        items = list(items)
        wanted = {i["seriesMasterId"] for i in items if is_stub(i) and _master_id(i)}
        self._read(sorted(wanted - self._masters.keys()))
        return [self._merged(i) if is_stub(i) and _master_id(i) else i for i in items]

    def _read(self, ids: list[str]) -> None:
        if len(ids) <= 1 or self._concurrency == 1:
            found = [self._fetch(i) for i in ids]
        else:
            with ThreadPoolExecutor(max_workers=min(self._concurrency, len(ids))) as pool:
                found = list(pool.map(self._fetch, ids))  # re-raises the first failure, after all finished
        self._masters.update(zip(ids, found, strict=True))

    def _fetch(self, master_id: str) -> dict | None:
        try:
            master = self._graph.get_event(self._tenant, self._room, master_id, select=MASTER_SELECT)
        except MailboxNotFound:
            raise  # the room itself is gone: the round's failure policy flags it
        except NotFound:
            return None
        return {k: master[k] for k in MASTER_SELECT if k in master}

    def _merged(self, stub: dict) -> dict:
        master = self._masters.get(stub["seriesMasterId"])
        if master is None:
            return {"id": stub.get("id"), "@removed": {"reason": "deleted"}}
        merged = {**master, **stub, "recurrence": None}
        if "originalStart" not in merged:  # an unmodified occurrence starts where the pattern put it
            merged["originalStart"] = _utc_iso(stub.get("start"))
        return merged


def _master_id(item: dict) -> str | None:
    value = item.get("seriesMasterId")
    return value if isinstance(value, str) and value else None


def _utc_iso(when: Any) -> str | None:
    if not isinstance(when, dict) or not isinstance(when.get("dateTime"), str):
        return None
    try:
        return to_utc(when["dateTime"], when.get("timeZone") or "UTC").isoformat()
    except InvalidInput:
        return None
