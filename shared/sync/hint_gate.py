"""Coalescing at the door: under a burst, at most about one hint per room per second leaves the
webhook, and no change is ever left uncovered.

A hint is a promise that a delta round will start after it becomes visible on the queue. So:

* the first notification for a quiet room is enqueued at once (freshness);
* a notification soon after that one is enqueued with a delay of ``delay`` seconds and stamped
  ``at`` = the moment it becomes visible; its round starts after that moment, so it covers every
  notification for the room that arrives until then, and those are not enqueued at all;
* the room is "covered" until ``visible - margin`` (the margin absorbs clock skew with the queue
  service and this process's own latency), after which the next notification starts over.

The state is per process; every instance gates on its own, which is still safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

_MAX_ROOMS = 100_000


class HintGate:
    def __init__(self, *, delay_seconds: int = 1, margin_seconds: float = 0.25) -> None:
        self._delay = timedelta(seconds=delay_seconds)
        self._margin = timedelta(seconds=margin_seconds)
        # Bounded LRUs: forgetting a cold room only means its next hint is sent at once (never unsafe).
        self._covered_until: OrderedDict[tuple[str, str], datetime] = OrderedDict()
        self._last_sent: OrderedDict[tuple[str, str], datetime] = OrderedDict()
        self._lock = threading.Lock()

    def plan(self, key: tuple[str, str], now: datetime) -> tuple[int, datetime] | None:
        """``None`` when an enqueued hint already covers ``now``; else ``(delay_seconds, at)``."""
        with self._lock:
            if now < self._covered_until.get(key, now):
                return None
            recent = self._last_sent.get(key)
            _put(self._last_sent, key, now)
            if recent is None or now - recent >= self._delay:
                return 0, now
            visible = now + self._delay
            _put(self._covered_until, key, visible - self._margin)
            return int(self._delay.total_seconds()), visible

    def forget(self, key: tuple[str, str]) -> None:
        """The planned hint could not be stored: the room is uncovered again (its next notification is sent)."""
        with self._lock:
            self._covered_until.pop(key, None)
            self._last_sent.pop(key, None)


def _put(lru: OrderedDict, key: tuple[str, str], value: datetime) -> None:
    lru[key] = value
    lru.move_to_end(key)
    while len(lru) > _MAX_ROOMS:
        lru.popitem(last=False)
