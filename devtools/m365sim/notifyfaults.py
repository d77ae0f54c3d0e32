"""Notification fault plans: what the control API can make go wrong with change notifications.

A plan applies either to the next ``count`` notifications or to a ``share`` of them (seeded randomness, so a
run is repeatable), optionally only for one subscription. Every application is counted in the emulator's fault
counters as ``notify_<kind>`` (``GET /_control/faults``).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, field

PLAN_KINDS = ("drop", "duplicate", "delay", "reorder", "wrong_client_state")


@dataclass
class Plan:
    kind: str
    count: int | None = None  # the next N notifications ...
    share: float | None = None  # ... or this share of them
    subscription_id: str | None = None
    delay_s: float = 0.0  # delay: emulated seconds (divided by notify_time_scale)
    missed: bool = False  # drop: also owe the subscription a `missed` lifecycle event
    applied: int = 0
    held: list = field(default_factory=list)  # reorder: items waiting to be released in reverse


class NotifyFaults:
    def __init__(self, seed: int) -> None:
        self.lock = threading.Lock()
        self.plans: list[Plan] = []
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        with self.lock:
            self.rng = random.Random(f"m365sim-notify-{seed}")

    def add(self, kind: str, count: int | None = None, share: float | None = None, **params) -> Plan:
        if kind not in PLAN_KINDS:
            raise ValueError(f"kind must be one of {PLAN_KINDS}")
        if (count is None) == (share is None):
            if kind == "reorder" and count is None and share is None:
                count = 2
            else:
                raise ValueError("give exactly one of count or share")
        if share is not None and not 0 <= float(share) <= 1:
            raise ValueError("share is between 0 and 1")
        if kind == "reorder" and (count is None or int(count) < 2):
            raise ValueError("reorder needs count >= 2")
        plan = Plan(
            kind,
            int(count) if count is not None else None,
            float(share) if share is not None else None,
            params.get("subscription_id"),
            float(params.get("delay_s") or 0),
            bool(params.get("missed", False)),
        )
        with self.lock:
            self.plans.append(plan)
        return plan

    def take(self, kind: str, sub_id: str | None) -> Plan | None:
        """The plan of this kind that applies to one notification now, if any (and consume it)."""
        with self.lock:
            for plan in self.plans:
                if plan.kind != kind or (plan.subscription_id and plan.subscription_id != sub_id):
                    continue
                if plan.count is not None:
                    if plan.applied >= plan.count:
                        continue
                elif self.rng.random() >= (plan.share or 0):
                    continue
                plan.applied += 1
                return plan
        return None

    def release_held(self, force: bool = False, older_than: float | None = None) -> list:
        """Reorder plans whose batch is complete, or whose first item waited ``older_than`` seconds (or all, with
        ``force``): their items, newest first."""
        out = []
        now = time.monotonic()
        with self.lock:
            for plan in self.plans:
                stale = older_than is not None and plan.held and now - plan.held[0].created >= older_than
                if plan.kind == "reorder" and plan.held and (force or stale or len(plan.held) >= (plan.count or 0)):
                    out.extend(reversed(plan.held))
                    plan.held = []
            self.plans = [p for p in self.plans if p.held or p.count is None or p.applied < p.count]
        return out

    def hold(self, plan: Plan, item) -> None:
        with self.lock:
            plan.held.append(item)

    def held_count(self) -> int:
        with self.lock:
            return sum(len(p.held) for p in self.plans)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [{**{k: v for k, v in asdict(p).items() if k != "held"}, "held": len(p.held)} for p in self.plans]

    def clear(self) -> list:
        """Drop every plan; return items that were held so the caller can still deliver them."""
        with self.lock:
            held = [i for p in self.plans for i in p.held]
            self.plans.clear()
            return held
