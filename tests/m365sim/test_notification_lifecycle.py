"""Lifecycle notifications (reauthorizationRequired, missed, subscriptionRemoved), the token pause, and the
slow-endpoint rules (delayed above 10% slow, dropped above 15% very slow) — GRAPH_NOTES A6, A7."""

from __future__ import annotations

from .test_notification_delivery import book, subscribe
from .test_subscriptions import _expiry


def test_reauthorization_required_on_demand(office, receiver, ctl, sim):
    s = subscribe(office, receiver)
    assert ctl.lifecycle_event(s["id"], "reauthorizationRequired")["sent"]
    (event,) = receiver.wait_items(1, "/lifecycle")
    assert event == {
        "subscriptionId": s["id"],
        "subscriptionExpirationDateTime": s["expirationDateTime"],
        "tenantId": office.tid,
        "clientState": "secret-state",
        "lifecycleEvent": "reauthorizationRequired",
    }
    assert receiver.posts("/lifecycle")[0].headers["Content-Type"].startswith("application/json")


def test_no_lifecycle_url_means_no_lifecycle_notifications(office, receiver, ctl, sim):
    s = subscribe(office, receiver, lifecycleNotificationUrl=None)
    assert ctl.lifecycle_event(s["id"], "missed")["sent"] is False
    assert sim.wait_idle(10) and receiver.posts("/lifecycle") == []


def test_reauthorization_required_as_the_subscription_nears_expiry_until_renewed(office, receiver, ctl, sim):
    s = subscribe(office, receiver, expirationDateTime=_expiry(sim, 60))
    ctl.advance_clock(46 * 60)  # 14 minutes left: inside the 15-minute window
    assert sim.wait_idle(10)
    events = receiver.wait_items(1, "/lifecycle")
    assert [e["lifecycleEvent"] for e in events] == ["reauthorizationRequired"]
    assert sim.wait_idle(10) and len(receiver.items("/lifecycle")) == 1  # not again before the interval
    r = office.graph("PATCH", f"/subscriptions/{s['id']}", json={"expirationDateTime": _expiry(sim, 600)})
    assert r.status_code == 200
    ctl.advance_clock(15 * 60)  # the renewal also reauthorized with a fresh token
    assert sim.wait_idle(10) and len(receiver.items("/lifecycle")) == 1


def test_expired_token_pauses_delivery_until_reauthorized(office, receiver, ctl, sim):
    s = subscribe(office, receiver, changeType="created")  # with a token that lives 3600 s
    ctl.advance_clock(3600 + 601)  # past the token and its grace; the subscription lives on
    book(office, ctl)
    assert not sim.wait_idle(0.3)  # held while the token is expired
    assert receiver.items() == []
    assert ctl.notification_stats()["counters"]["paused_token_expired"] >= 1
    assert office.graph("POST", f"/subscriptions/{s['id']}/reauthorize").status_code == 204
    assert sim.wait_idle(10)
    assert [i["changeType"] for i in receiver.items()] == ["created"]
    assert "reauthorizationRequired" in [e["lifecycleEvent"] for e in receiver.items("/lifecycle")]


def test_slow_endpoint_is_delayed(office, receiver, ctl, sim):
    ctl.settings(notify_answer_timeout_s=0.1, notify_slow_min_samples=4, notify_time_scale=100)  # 6 s window
    receiver.delay_s = 0.3  # over the 3 s allowance (scaled down), under the 10 s retry allowance
    s = subscribe(office, receiver)
    m = book(office, ctl)  # a first attempt that times out (slow) and a retry that answers slowly: 2 samples
    assert sim.wait_idle(15)
    ctl.update_meeting(office.tid, m["id"], subject="second")  # 2 more: 4 in the window, 100% slow
    assert sim.wait_idle(15)
    health = {e["url"]: e for e in ctl.endpoint_health()}[s["notificationUrl"]]
    assert health["mode"] == "delayed"
    assert health["entered"]["delayed"] == 1 and not health["forced"]
    receiver.delay_s = 0
    ctl.update_meeting(office.tid, m["id"], subject="third")
    assert sim.wait_idle(15, now=True)  # skip the 10-minute delay
    last = ctl.notification_log()[-1]
    assert last["outcome"] == "delivered" and last["items"][0]["tags"] == ["slow_endpoint_delay"]
    assert ctl.notification_stats()["counters"]["endpoint_delayed"] == 1


def test_very_slow_endpoint_is_dropped_and_missed_is_sent(office, receiver, ctl, sim):
    ctl.settings(
        notify_answer_timeout_s=0.1, notify_retry_timeout_s=0.2, notify_slow_min_samples=4, notify_time_scale=100
    )
    receiver.delay_s = 0.4  # over both allowances: every retry times out too
    s = subscribe(office, receiver)
    m = book(office, ctl)  # one notification: a slow first attempt, then retries over the retry allowance
    for _ in range(300):
        health = {e["url"]: e for e in ctl.endpoint_health()}.get(s["notificationUrl"])
        if health and health["mode"] == "dropped":
            break
        receiver.wait_items(len(receiver.items()) + 1, timeout=15)  # wait for the next attempt, no sleeping
    assert health["mode"] == "dropped" and health["entered"]["dropped"] == 1
    receiver.delay_s = 0
    ctl.update_meeting(office.tid, m["id"], subject="third")  # a new notification while dropped
    assert sim.wait_idle(15, now=True)
    assert ctl.notification_stats()["counters"]["dropped_slow_endpoint"] == 1
    assert "missed" in [e["lifecycleEvent"] for e in receiver.items("/lifecycle")]
    assert {i["changeType"] for i in receiver.items()} == {"created"}  # the update was dropped
