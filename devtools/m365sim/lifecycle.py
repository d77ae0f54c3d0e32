"""Lifecycle notifications (change-notifications-lifecycle-events.md) and the expiry sweep.

Sent to ``lifecycleNotificationUrl`` only (subscriptions without one get none), in the collection shape without
``resource``/``resourceData`` and with ``lifecycleEvent``:

* ``reauthorizationRequired`` — when the subscription or its access token is within ``notify_reauth_window_s``
  of expiry, again every ``notify_reauth_interval_s`` until renewed or reauthorized, or on demand;
* ``subscriptionRemoved`` — when the control API removes a subscription;
* ``missed`` — after notifications were dropped (slow-endpoint rule, retries given up, or a drop fault with
  ``missed``).

The sweep also deletes expired subscriptions; their queued notifications are discarded before sending.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from .delivery import Item
from .substore import Subscription, graph_time

EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


def lifecycle_item(sub: Subscription, event: str) -> Item:
    body = {
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": graph_time(sub.expiration),
        "tenantId": sub.tenant_id,
        "clientState": sub.client_state,
        "lifecycleEvent": event,
    }
    return Item(body, sub.lifecycle_url or "", sub.id, kind="lifecycle", check_sub=event != "subscriptionRemoved")


def send(hub, sub: Subscription, event: str) -> bool:
    """Queue one lifecycle notification; False when the subscription has no lifecycleNotificationUrl."""
    if event not in EVENTS:
        raise ValueError(f"event is one of {EVENTS}")
    if not sub.lifecycle_url:
        return False
    hub.count(f"lifecycle_{event}")
    hub.engine.schedule(lifecycle_item(sub, event), hub.settings.notify_batch_window_ms / 1000)
    return True


REORDER_HOLD_S = 5.0  # real: a reorder plan that never fills releases what it holds after this long


def sweep(hub) -> None:
    s, now = hub.settings, hub.now()
    for it in hub.faults.release_held(older_than=REORDER_HOLD_S):
        hub.engine.schedule(it)
    window, interval = timedelta(seconds=s.notify_reauth_window_s), timedelta(seconds=s.notify_reauth_interval_s)
    for sub in hub.store.all():
        if sub.expiration <= now:
            hub.store.remove(sub.id)
            hub.count("subscriptions_expired")
            continue
        with hub.store.lock:
            missed, sub.missed_pending = sub.missed_pending, False
            near = min(sub.expiration, sub.token_expires) - now <= window
            due = near and (sub.reauth_sent is None or now - sub.reauth_sent >= interval)
            if due:
                sub.reauth_sent = now
        if missed:
            send(hub, sub, "missed")
        if due:
            send(hub, sub, "reauthorizationRequired")


class Sweeper:
    def __init__(self, hub) -> None:
        self.hub = hub
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.stop_event.clear()
        self.thread = threading.Thread(target=self._loop, name="m365sim-lifecycle", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def _loop(self) -> None:
        while not self.stop_event.wait(max(self.hub.settings.notify_sweep_ms, 10) / 1000):
            try:
                sweep(self.hub)
            except Exception:  # pragma: no cover - keep sweeping
                import logging

                logging.getLogger(__name__).exception("m365sim: lifecycle sweep failed")
