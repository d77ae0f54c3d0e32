"""The change log every event mutation appends to, and the listener hook change notifications publish from.

API (stable; part 2 builds webhooks on it):

* ``ChangeRecord`` — one frozen record: ``stamp`` (world-wide, strictly increasing), ``tenant_id``, ``mailbox``
  (lower-case SMTP address of the calendar that changed), ``mailbox_id`` (its object id, as Graph puts in
  ``resource``), ``event_id`` (the id Graph would report: the single event, the series master, or the one
  occurrence that changed), ``series_master_id`` (or None), ``change_type`` (``created``/``updated``/``deleted``)
  and ``at`` (the world clock's UTC time).
* ``ChangeLog.add_listener(fn) -> unsubscribe`` — ``fn(record)`` runs synchronously on the mutating thread
  **after** the world lock is released, once per record, in stamp order within one mutation. Exceptions in a
  listener are logged and swallowed; a slow listener slows the mutating request (queue your own work).
* ``ChangeLog.since(stamp) -> list[ChangeRecord]`` — every record with a larger stamp (replay after a gap).
* ``ChangeLog.last_stamp``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)
Listener = Callable[["ChangeRecord"], None]


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    stamp: int
    tenant_id: str
    mailbox: str
    mailbox_id: str
    event_id: str
    series_master_id: str | None
    change_type: str
    at: datetime

    def as_json(self) -> dict:
        return {
            "stamp": self.stamp,
            "tenantId": self.tenant_id,
            "mailbox": self.mailbox,
            "mailboxId": self.mailbox_id,
            "eventId": self.event_id,
            "seriesMasterId": self.series_master_id,
            "changeType": self.change_type,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }


class ChangeLog:
    def __init__(self) -> None:
        self._records: list[ChangeRecord] = []
        self._listeners: list[Listener] = []
        self._guard = threading.Lock()

    @property
    def last_stamp(self) -> int:
        return self._records[-1].stamp if self._records else 0

    def append(self, record: ChangeRecord) -> None:
        """Called by the world with its lock held; dispatch happens later via ``dispatch``."""
        self._records.append(record)

    def since(self, stamp: int) -> list[ChangeRecord]:
        # records are appended in stamp order under the world lock, so a reverse scan is enough
        out = []
        for rec in reversed(self._records):
            if rec.stamp <= stamp:
                break
            out.append(rec)
        return out[::-1]

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        with self._guard:
            self._listeners.append(fn)

        def unsubscribe() -> None:
            with self._guard:
                if fn in self._listeners:
                    self._listeners.remove(fn)

        return unsubscribe

    def dispatch(self, records: list[ChangeRecord]) -> None:
        with self._guard:
            listeners = list(self._listeners)
        for rec in records:
            for fn in listeners:
                try:
                    fn(rec)
                except Exception:  # a broken subscriber must not break the organiser's request
                    log.exception("change listener %r failed on %s", fn, rec)

    def clear(self) -> None:
        self._records.clear()
