"""Control API for change notifications: subscriptions (all apps), fault plans, lifecycle events on demand,
endpoint health (slow/drop rules), the delivery log, flush, and a reset of the whole surface."""

from __future__ import annotations

import uuid

from werkzeug.routing import Rule

from . import lifecycle
from .control import ControlError, P, body_of, guarded, reply
from .delivery import Item
from .notifyfaults import PLAN_KINDS
from .substore import graph_time

ACTIONS = ("remove_subscription", "unknown_subscription", "endpoint_mode")


def rules() -> list[Rule]:
    r = [
        ("/notifications", reset, ["DELETE"]),
        ("/notifications/subscriptions", subscriptions, ["GET"]),
        ("/notifications/subscriptions/<sid>/lifecycle", lifecycle_event, ["POST"]),
        ("/notifications/faults", faults, ["GET", "POST", "DELETE"]),
        ("/notifications/endpoints", endpoints, ["GET"]),
        ("/notifications/log", log, ["GET"]),
        ("/notifications/flush", flush, ["POST"]),
        ("/notifications/stats", stats, ["GET"]),
    ]
    # no world lock: the hub has its own locks, and flush waits for deliveries
    return [Rule(P + path, endpoint=guarded(fn, lock=False), methods=methods) for path, fn, methods in r]


def _sub(sim, sid: str):
    sub = sim.notifications.store.get(sid)
    if sub is None:
        raise ControlError(f"no subscription {sid}", 404)
    return sub


def reset(sim, request):
    sim.notifications.reset()
    return reply({"ok": True})


def subscriptions(sim, request):
    return reply([s.as_control() for s in sim.notifications.store.all()])


def lifecycle_event(sim, request, sid):
    """``{event}``: reauthorizationRequired, missed, or subscriptionRemoved (which also deletes it)."""
    hub, sub, event = sim.notifications, _sub(sim, sid), body_of(request).get("event")
    if event not in lifecycle.EVENTS:
        raise ControlError(f"event is one of {lifecycle.EVENTS}")
    if event == "subscriptionRemoved":
        hub.store.remove(sub.id)
    sent = lifecycle.send(hub, sub, event)
    return reply({"sent": sent, "subscription": sub.as_control()})


def faults(sim, request):
    """POST ``{kind, count | share, subscription_id?, delay_s?, missed?}`` for the plans (drop, duplicate, delay,
    reorder, wrong_client_state), or an immediate action: ``remove_subscription {subscription_id}``,
    ``unknown_subscription {subscription_id | url, count?}``, ``endpoint_mode {url, mode, duration_s?}``."""
    hub = sim.notifications
    if request.method == "DELETE":
        for it in hub.faults.clear():
            hub.engine.schedule(it)
    elif request.method == "POST":
        b = body_of(request)
        kind = b.pop("kind", None)
        if kind in PLAN_KINDS:
            hub.faults.add(kind, b.pop("count", None), b.pop("share", None), **b)
        elif kind == "remove_subscription":
            sub = _sub(sim, str(b.get("subscription_id")))
            hub.store.remove(sub.id)
            hub.fault("remove_subscription")
            lifecycle.send(hub, sub, "subscriptionRemoved")
        elif kind == "unknown_subscription":
            _unknown(sim, b)
        elif kind == "endpoint_mode":
            mode = b.get("mode", "dropped")
            seconds = float(b.get("duration_s") or sim.world.settings.notify_drop_period_s)
            hub.health.force(str(b["url"]), mode, seconds / hub.scale())
            hub.fault(f"endpoint_{mode}")
        else:
            raise ControlError(f"kind is one of {(*PLAN_KINDS, *ACTIONS)}")
    return reply({"plans": hub.faults.snapshot(), "counters": _notify_counters(sim)})


def _notify_counters(sim) -> dict:
    return {k: v for k, v in sim.faults.snapshot()["counters"].items() if k.startswith("notify_")}


def _unknown(sim, b: dict) -> None:
    """Notifications for a subscription id Graph never issued, to a subscription's URL (or any URL)."""
    hub = sim.notifications
    sub = _sub(sim, str(b["subscription_id"])) if b.get("subscription_id") else None
    url = b.get("url") or (sub.notification_url if sub else None)
    if not url:
        raise ControlError("give subscription_id or url")
    for _ in range(int(b.get("count", 1))):
        fake, event = str(uuid.uuid4()), f"AAMkAG{uuid.uuid4().hex}"
        path = f"Users/{sub.mailbox_id if sub else uuid.uuid4()}/Events/{event}"
        body = {
            "subscriptionId": fake,
            "subscriptionExpirationDateTime": graph_time(sub.expiration if sub else hub.now()),
            "changeType": "updated",
            "resource": path,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": path,
                "@odata.etag": 'W/"unknown"',
                "id": event,
            },
            "clientState": sub.client_state if sub else None,
            "tenantId": sub.tenant_id if sub else str(uuid.uuid4()),
        }
        hub.engine.schedule(Item(body, url, fake, check_sub=False, tags=["unknown_subscription"]))
        hub.fault("unknown_subscription")


def endpoints(sim, request):
    return reply(sim.notifications.health.snapshot())


def log(sim, request):
    since, limit = int(request.args.get("since", 0)), int(request.args.get("limit", 1000))
    return reply(sim.notifications.engine.entries(since, limit))


def flush(sim, request):
    """``{timeout_s?: 10, now?: false}``: wait until nothing is queued or in flight (``now`` sends delayed and
    backed-off notifications right away). 200 ``{idle: true}`` or 408 ``{idle: false, pending}``."""
    b = body_of(request)
    hub = sim.notifications
    idle = hub.wait_idle(float(b.get("timeout_s", 10)), now=bool(b.get("now", False)))
    return reply({"idle": idle, "pending": hub.engine.pending()}, 200 if idle else 408)


def stats(sim, request):
    hub = sim.notifications
    with hub._lock:
        counters = dict(hub.stats)
    return reply({"counters": counters, "subscriptions": len(hub.store.all()), "pending": hub.engine.pending()})
