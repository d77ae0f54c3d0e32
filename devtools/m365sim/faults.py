"""Fault injection: what the control API can make go wrong, and counters of every fault actually injected."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Burst:
    remaining: int
    status: int = 503
    retry_after: int | None = 2
    mailbox: str | None = None  # None = any Graph request


@dataclass
class Faults:
    bursts: list[Burst] = field(default_factory=list)
    token_failures: int = 0  # next N token requests answer 503 temporarily_unavailable
    token_failure_status: int = 503
    counters: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_burst(
        self, count: int, status: int = 503, retry_after: int | None = None, mailbox: str | None = None
    ) -> None:
        if status not in (500, 502, 503, 504):
            raise ValueError("burst status must be 500, 502, 503 or 504")
        # concepts/errors.md documents Retry-After on 503 (and 429) only
        ra = retry_after if retry_after is not None else (2 if status == 503 else None)
        with self._lock:
            self.bursts.append(
                Burst(count, status, ra if status == 503 else None, mailbox.lower() if mailbox else None)
            )

    def take_burst(self, mailbox: str | None) -> Burst | None:
        """Consume one fault: ``mailbox=None`` takes a global burst, a mailbox takes that mailbox's burst."""
        with self._lock:
            want = mailbox.lower() if mailbox else None
            for b in self.bursts:
                if b.remaining > 0 and b.mailbox == want:
                    b.remaining -= 1
                    self.counters[f"graph_{b.status}"] += 1
                    if b.mailbox:
                        self.counters[f"graph_{b.status}:{b.mailbox}"] += 1
                    self.bursts = [x for x in self.bursts if x.remaining > 0]
                    return b
        return None

    def take_token_failure(self) -> int | None:
        with self._lock:
            if self.token_failures > 0:
                self.token_failures -= 1
                self.counters["token_failure"] += 1
                return self.token_failure_status
        return None

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "counters": dict(self.counters),
                "pending": {
                    "bursts": [b.__dict__.copy() for b in self.bursts],
                    "token_failures": self.token_failures,
                },
            }

    def reset(self) -> None:
        with self._lock:
            self.bursts.clear()
            self.token_failures = 0
            self.counters.clear()
