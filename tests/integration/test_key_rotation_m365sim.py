"""Rotating both webhook keys end to end, as docs/webhook-keys.md says to: add the new named keys beside the old
ones, switch RoomCal's settings, let the renewal move every subscription (PATCH for notificationUrl, a new
subscription for lifecycleNotificationUrl), remove the old keys. Graph (the emulator) delivers real change
notifications throughout; none is ever refused and every change reaches RoomCal through them (the catch-up
timer never runs here)."""

from __future__ import annotations

import time

import pytest

from devtools.azurite import free_port
from devtools.demo import live, onboarding
from devtools.demo.stack import WEBHOOK_KEYS, Stack, write_function_keys
from tests.integration.devhost_helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SEED = 11
NEVER = "0 0 0 1 1 *"


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, free_port(), 0)
    try:
        yield s
    finally:
        s.stop()


def _ours(stack: Stack, tid: str) -> list[dict]:
    return [s for s in stack.control.subscriptions()
            if s["tenantId"] == tid and s["notificationUrl"].startswith(f"{stack.base}/api/notifications")]


def test_rotating_both_keys_refuses_no_notification_and_loses_no_change(stack):
    stack.start_storage()
    stack.start_emulator(SEED)
    office = onboarding.prepare_office(stack, seed=SEED, rooms=6, days_back=3, days_ahead=7)
    tid, domain = office["tenant"], office["domain"]
    stack.start_devhost({"ROOMCAL_CATCHUP_SCHEDULE": NEVER, "ROOMCAL_RENEW_SCHEDULE": NEVER,
                         "ROOMCAL_RETENTION_SCHEDULE": NEVER, "ROOMCAL_SYNC_LEASE_SECONDS": "15"})
    onboarding.consent(stack, tid, admin=f"admin@{domain}")
    onboarding.rbac(stack, tid, group=f"roomcal-rooms@{domain}")
    stack.api("POST", f"tenants/{tid}/rooms/import").raise_for_status()
    onboarding.verify(stack, tid)
    rooms = onboarding.synchronise(stack, tid)["queued"]
    live.wait_for_initial_sync(stack, tid, rooms, timeout=180)
    wait_for(lambda: len(_ours(stack, tid)) == len(rooms), timeout=60)
    organizer = f"admin@{domain}"
    before = {s["id"] for s in _ours(stack, tid)}
    secrets = stack.run_dir / "devhost-secrets"
    old = {f: WEBHOOK_KEYS[f][1] for f in WEBHOOK_KEYS}
    new = {f: f"rotated-{f}-key" for f in WEBHOOK_KEYS}

    # 1. the new named keys beside the old ones: both accepted
    for function in WEBHOOK_KEYS:
        write_function_keys(secrets, function, {"graph-1": old[function], "graph-2": new[function]})
    time.sleep(1.5)  # the host re-reads its key files within a second
    live.book_and_cancel(stack, tid, organizer, rooms)

    # 2. RoomCal switched to the new keys (its settings change: the app restarts)
    stack.devhost_env.update({"ROOMCAL_NOTIFICATIONS_KEY": new["graph_notifications"],
                              "ROOMCAL_LIFECYCLE_KEY": new["graph_lifecycle"]})
    stack.restart_devhost()
    # 3. the renewal moves every subscription to the new URLs
    assert stack.admin("renew_subscriptions").status_code == 202
    target = (f"{stack.base}/api/notifications?code={new['graph_notifications']}",
              f"{stack.base}/api/lifecycle?code={new['graph_lifecycle']}")
    wait_for(lambda: (subs := _ours(stack, tid)) and len(subs) == len(rooms)
             and {(s["notificationUrl"], s["lifecycleNotificationUrl"]) for s in subs} == {target}, timeout=120)
    assert not before & {s["id"] for s in _ours(stack, tid)}  # a new lifecycle URL means new subscriptions
    live.book_and_cancel(stack, tid, organizer, rooms)

    # 4. the old keys removed
    for function in WEBHOOK_KEYS:
        write_function_keys(secrets, function, {"graph-2": new[function]})
    time.sleep(1.5)
    live.book_and_cancel(stack, tid, organizer, rooms)

    assert stack.sim.wait_idle(30, now=True)
    posts = [p for p in stack.control.notification_log() if p["url"].startswith(stack.base)]
    assert posts and all(p["status"] is not None and 200 <= p["status"] < 300 for p in posts), \
        sorted({p["status"] for p in posts}, key=str)
