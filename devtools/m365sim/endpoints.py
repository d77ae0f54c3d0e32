"""Slow-endpoint rules per notification URL (newest change-notifications-delivery-webhooks.md).

In a 10-minute window (emulated), once ``notify_slow_min_samples`` responses are in:

* more than 10% over the answer allowance (3 s) → **delayed**: new notifications wait 10 minutes; after the
  window the endpoint is re-tested with fresh counts;
* more than 15% over the retry allowance (10 s) → **dropped**: new notifications are discarded for 10 minutes
  (the subscriptions owe a ``missed`` lifecycle event), then re-tested.

A timeout counts as over the allowance that was applied. The control API can also force a mode.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class EndpointState:
    url: str
    samples: deque = field(default_factory=deque)  # (monotonic time, slow, very_slow)
    mode: str = "normal"  # normal | delayed | dropped
    until: float = 0.0
    forced: bool = False
    responses: int = 0
    slow: int = 0
    very_slow: int = 0
    entered: dict = field(default_factory=lambda: {"delayed": 0, "dropped": 0})

    def as_json(self) -> dict:
        n = len(self.samples) or 1
        return {
            "url": self.url,
            "mode": self.mode,
            "forced": self.forced,
            "modeRemainingS": round(max(0.0, self.until - time.monotonic()), 3) if self.mode != "normal" else 0,
            "window": {
                "responses": len(self.samples),
                "slowShare": round(sum(1 for s in self.samples if s[1]) / n, 4),
                "verySlowShare": round(sum(1 for s in self.samples if s[2]) / n, 4),
            },
            "totals": {"responses": self.responses, "slow": self.slow, "verySlow": self.very_slow},
            "entered": dict(self.entered),
        }


class EndpointHealth:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.states: dict[str, EndpointState] = {}

    def _state(self, url: str) -> EndpointState:
        st = self.states.get(url)
        if st is None:
            st = self.states[url] = EndpointState(url)
        return st

    def record(self, url: str, slow: bool, very_slow: bool, settings) -> str | None:
        """Count one response; return the mode entered because of it, if any."""
        scale = max(settings.notify_time_scale, 1e-9)
        now = time.monotonic()
        with self.lock:
            st = self._state(url)
            st.responses, st.slow, st.very_slow = st.responses + 1, st.slow + slow, st.very_slow + very_slow
            st.samples.append((now, slow, very_slow))
            while st.samples and st.samples[0][0] < now - settings.notify_slow_window_s / scale:
                st.samples.popleft()
            n = len(st.samples)
            if st.mode == "dropped" or n < max(1, settings.notify_slow_min_samples):
                return None
            if sum(1 for s in st.samples if s[2]) / n > settings.notify_drop_share:
                self._enter(st, "dropped", settings.notify_drop_period_s / scale)
                return "dropped"
            if st.mode == "normal" and sum(1 for s in st.samples if s[1]) / n > settings.notify_slow_share:
                self._enter(st, "delayed", settings.notify_slow_window_s / scale)
                return "delayed"
        return None

    def _enter(self, st: EndpointState, mode: str, seconds: float, forced: bool = False) -> None:
        st.mode, st.until, st.forced = mode, time.monotonic() + seconds, forced
        st.samples.clear()
        if mode != "normal":
            st.entered[mode] += 1

    def admission(self, url: str) -> str:
        """normal, delayed or dropped for a new notification to this URL (re-test once the period is over)."""
        with self.lock:
            st = self._state(url)
            if st.mode != "normal" and time.monotonic() >= st.until:
                st.mode, st.forced = "normal", False
                st.samples.clear()
            return st.mode

    def force(self, url: str, mode: str, seconds: float) -> None:
        if mode not in ("normal", "delayed", "dropped"):
            raise ValueError("mode is normal, delayed or dropped")
        with self.lock:
            self._enter(self._state(url), mode, seconds, forced=True)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [st.as_json() for st in self.states.values()]

    def clear(self) -> None:
        with self.lock:
            self.states.clear()
