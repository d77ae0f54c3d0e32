"""Outlook's per (app id, mailbox) limits (throttling-limits.md, Outlook service limits): concurrent requests
and a request budget per window.

Throttled requests count against the budget too ("throttled requests still count against usage").
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict

from .graph_errors import GraphError
from .world import World


class Throttle:
    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], int] = defaultdict(int)
        self._used: dict[tuple[str, str, int], int] = defaultdict(int)
        self.throttled = 0

    def acquire(self, app_id: str, mailbox: str) -> tuple[str, str]:
        s = self.world.settings
        now = self.world.clock.now().timestamp()
        window = int(now // s.budget_window_s)
        key = (app_id, mailbox.lower())
        with self._lock:
            self._used[(*key, window)] += 1
            if self._used[(*key, window)] > s.request_budget:
                self.throttled += 1
                retry = max(1, math.ceil((window + 1) * s.budget_window_s - now))
                raise GraphError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxRequestLimit limit.",
                    {"Retry-After": str(retry)},
                )
            if self._active[key] >= s.max_concurrency:
                self.throttled += 1
                raise GraphError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": "1"},
                )
            self._active[key] += 1
        return key

    def release(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._active[key] = max(0, self._active[key] - 1)

    def reset(self) -> None:
        with self._lock:
            self._active.clear()
            self._used.clear()
            self.throttled = 0
