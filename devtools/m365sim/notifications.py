"""The change-notification hub: turns change-log records into queued notifications and applies the faults and
slow-endpoint rules on the way (change-notifications-delivery-webhooks.md). ``sim.notifications`` is the one instance.

Pipeline for one change: subscriptions of that mailbox with that changeType → endpoint admission (dropped /
delayed) → fault plans (drop, wrong clientState, delay, duplicate, reorder) → the delivery engine, after
``notify_batch_window_ms`` so notifications for one URL share a POST.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import datetime

from . import lifecycle
from .changelog import ChangeRecord
from .delivery import DeliveryEngine, Item
from .endpoints import EndpointHealth
from .eventshape import change_key
from .notifyfaults import NotifyFaults
from .substore import Subscription, SubscriptionStore, graph_time


class Notifications:
    def __init__(self, sim) -> None:
        self.sim = sim
        self.store = SubscriptionStore()
        self.health = EndpointHealth()
        self.faults = NotifyFaults(sim.seed)
        self.engine = DeliveryEngine(self)
        self.sweeper = lifecycle.Sweeper(self)
        self.stats: Counter = Counter()
        self._lock = threading.Lock()
        self.unsubscribe = sim.world.changes.add_listener(self.on_change)

    # --- plumbing ----------------------------------------------------------------------------------------------
    @property
    def settings(self):
        return self.sim.world.settings

    def now(self) -> datetime:
        return self.sim.world.clock.now()

    def scale(self) -> float:
        return max(self.settings.notify_time_scale, 1e-9)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.stats[name] += n

    def fault(self, name: str) -> None:
        self.sim.faults.count(f"notify_{name}")

    def wake(self) -> None:
        with self.engine.cv:
            self.engine.cv.notify_all()

    def start(self) -> None:
        self.engine.start()
        self.sweeper.start()

    def stop(self) -> None:
        self.sweeper.stop()
        self.engine.stop()

    def reset(self) -> None:
        self.store.clear()
        self.faults.clear()
        self.faults.reseed(self.sim.world.seed)  # a share-based plan drops the same notifications every run
        self.engine.clear()
        self.health.clear()
        with self._lock:
            self.stats.clear()

    def wait_idle(self, timeout: float = 10.0, now: bool = False) -> bool:
        """Release held (reordered) items, run a lifecycle sweep, then wait until nothing is queued or in flight.
        ``now`` makes delayed and backed-off items due immediately."""
        end = time.monotonic() + timeout
        for it in self.faults.release_held(force=True):
            self.engine.schedule(it)
        lifecycle.sweep(self)
        while True:
            if now:
                self.engine.due_now()
            if self.engine.wait_idle(min(0.2, max(0.0, end - time.monotonic()))):
                return True
            if time.monotonic() >= end:
                return False

    # --- changes → notifications --------------------------------------------------------------------------------
    def on_change(self, rec: ChangeRecord) -> None:
        now = self.now()
        for sub in self.store.for_mailbox(rec.tenant_id, rec.mailbox_id):
            if rec.change_type in sub.change_types and sub.expiration > now:
                self.submit(self.change_item(sub, rec), sub)

    @staticmethod
    def change_item(sub: Subscription, rec: ChangeRecord) -> Item:
        path = f"Users/{rec.mailbox_id}/Events/{rec.event_id}"
        body = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_time(sub.expiration),
            "changeType": rec.change_type,
            "resource": path,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": path,
                "@odata.etag": f'W/"{change_key(rec.event_id, rec.stamp)}"',
                "id": rec.event_id,
            },
            "clientState": sub.client_state,
            "tenantId": rec.tenant_id,
        }
        return Item(body, sub.notification_url, sub.id, stamp=rec.stamp, change_at=graph_time(rec.at))

    def submit(self, item: Item, sub: Subscription) -> None:
        delay = self.settings.notify_batch_window_ms / 1000
        mode = self.health.admission(item.url)
        if mode == "dropped":
            self.count("dropped_slow_endpoint")
            sub.missed_pending = True
            return
        if mode == "delayed":
            self.count("delayed_slow_endpoint")
            item.tags.append("slow_endpoint_delay")
            delay += self.settings.notify_slow_delay_s / self.scale()
        f = self.faults
        plan = f.take("drop", sub.id)
        if plan:
            self.fault("drop")
            sub.missed_pending = sub.missed_pending or plan.missed
            return
        if f.take("wrong_client_state", sub.id):
            self.fault("wrong_client_state")
            item.body["clientState"] = f"wrong-{uuid.uuid4().hex[:12]}"
            item.tags.append("wrong_client_state")
        plan = f.take("delay", sub.id)
        if plan:
            self.fault("delay")
            item.tags.append("delay")
            delay += plan.delay_s / self.scale()
        if f.take("duplicate", sub.id):
            self.fault("duplicate")
            twin = Item(
                dict(item.body),
                item.url,
                item.sub_id,
                stamp=item.stamp,
                change_at=item.change_at,
                tags=[*item.tags, "duplicate"],
            )
            self.engine.schedule(twin, delay)
        plan = f.take("reorder", sub.id)
        if plan:
            self.fault("reorder")
            item.tags.append("reorder")
            f.hold(plan, item)
            for it in f.release_held():
                self.engine.schedule(it, delay)
            return
        self.engine.schedule(item, delay)

    # --- called by the engine -------------------------------------------------------------------------------------
    def admit_for_send(self, items: list[Item]) -> list[Item]:
        """Drop items of deleted/expired subscriptions; hold items whose subscription's token has expired (they
        are not delivered until the subscription is reauthorized; no throttling, retries for up to 4 h)."""
        out, now = [], self.now()
        for it in items:
            sub = self.store.get(it.sub_id) if it.check_sub else None
            if it.check_sub and (sub is None or sub.expiration <= now):
                self.count("discarded_subscription_gone")
                continue
            if sub is not None and it.kind == "change":
                paused = (now - sub.token_expires).total_seconds() > self.settings.notify_token_grace_s
                if paused and not self._give_up(it, sub):
                    self.count("paused_token_expired")
                    self.engine.schedule(it, min(0.25, self.settings.notify_backoff_base_s / self.scale()))
                    continue
                if paused:
                    continue
            out.append(it)
        return out

    def _give_up(self, it: Item, sub: Subscription | None) -> bool:
        if (time.monotonic() - it.created) * self.scale() <= self.settings.notify_retry_horizon_s:
            return False
        self.count("discarded_retries_exhausted")
        if sub is not None and it.kind == "change":
            sub.missed_pending = True
        return True

    def after_send(self, items: list[Item], delivered: bool) -> None:
        self.count("posts")
        for it in items:
            sub = self.store.get(it.sub_id)
            if delivered:
                self.count("delivered")
                if sub is not None:
                    sub.delivered += 1
                continue
            it.attempts += 1
            if not self._give_up(it, sub):
                self.count("retries")
                self.engine.schedule(it, self.engine.backoff(it.attempts))

    def endpoint_response(self, url: str, slow: bool, very_slow: bool) -> None:
        entered = self.health.record(url, slow, very_slow, self.settings)
        if entered:
            self.count(f"endpoint_{entered}")
