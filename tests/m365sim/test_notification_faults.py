"""Notification faults dialled in through the control API, each one counted (GET /_control/faults)."""

from __future__ import annotations

from .test_notification_delivery import book, subscribe

LIFECYCLE_KEYS = {"subscriptionId", "subscriptionExpirationDateTime", "tenantId", "clientState", "lifecycleEvent"}


def counters(ctl) -> dict:
    return ctl.faults()["counters"]


def three_changes(office, ctl) -> dict:
    m = book(office, ctl)
    ctl.update_meeting(office.tid, m["id"], subject="second")
    ctl.update_meeting(office.tid, m["id"], subject="third")
    return m


def test_drop_next_n(office, receiver, ctl, sim):
    subscribe(office, receiver)
    ctl.inject_notification_fault("drop", count=2)
    three_changes(office, ctl)
    assert sim.wait_idle(15)
    assert [i["changeType"] for i in receiver.items()] == ["updated"]
    assert counters(ctl)["notify_drop"] == 2
    assert receiver.posts("/lifecycle") == []  # a silent loss: no `missed`
    assert ctl.faults()["pending"]["notifications"] == []  # the plan is used up


def test_drop_with_missed_owes_a_lifecycle_event(office, receiver, ctl, sim):
    s = subscribe(office, receiver)
    ctl.inject_notification_fault("drop", count=1, missed=True, subscription_id=s["id"])
    book(office, ctl)
    assert sim.wait_idle(15)
    (event,) = receiver.wait_items(1, "/lifecycle")
    assert set(event) == LIFECYCLE_KEYS and event["lifecycleEvent"] == "missed"
    assert receiver.items() == []


def test_drop_share_is_seeded_and_counted(office, receiver, ctl, sim):
    subscribe(office, receiver, changeType="updated")
    ctl.inject_notification_fault("drop", share=0.5)
    m = book(office, ctl)
    for i in range(10):
        ctl.update_meeting(office.tid, m["id"], subject=f"s{i}")
    assert sim.wait_idle(15)
    dropped = counters(ctl)["notify_drop"]
    assert 0 < dropped < 10 and len(receiver.items()) == 10 - dropped


def test_duplicate(office, receiver, ctl, sim):
    subscribe(office, receiver, changeType="created")
    ctl.inject_notification_fault("duplicate", count=1)
    book(office, ctl)
    assert sim.wait_idle(15)
    items = receiver.items()
    assert len(items) == 2 and items[0] == items[1]
    assert counters(ctl)["notify_duplicate"] == 1
    tags = [it["tags"] for e in ctl.notification_log() for it in e["items"]]
    assert sorted(tags) == [[], ["duplicate"]]


def test_delay_holds_one_notification_back(office, receiver, ctl, sim):
    ctl.settings(notify_time_scale=100)
    subscribe(office, receiver)
    ctl.inject_notification_fault("delay", count=1, delay_s=600)  # 6 s real at this scale
    m = book(office, ctl)
    ctl.update_meeting(office.tid, m["id"], subject="later")
    assert [i["changeType"] for i in receiver.wait_items(1)] == ["updated"]
    assert ctl.flush_notifications(timeout_s=10, now=True)["idle"]
    assert [i["changeType"] for i in receiver.items()] == ["updated", "created"]
    assert counters(ctl)["notify_delay"] == 1


def test_reorder_sends_the_next_n_newest_first(office, receiver, ctl, sim):
    subscribe(office, receiver)
    ctl.inject_notification_fault("reorder", count=3)
    three_changes(office, ctl)
    assert sim.wait_idle(15)
    assert [i["changeType"] for i in receiver.items()] == ["updated", "updated", "created"]
    stamps = [it["stamp"] for e in ctl.notification_log() for it in e["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert counters(ctl)["notify_reorder"] == 3


def test_wrong_client_state(office, receiver, ctl, sim):
    subscribe(office, receiver)
    ctl.inject_notification_fault("wrong_client_state", share=1.0)
    three_changes(office, ctl)
    assert sim.wait_idle(15)
    states = {i["clientState"] for i in receiver.items()}
    assert len(receiver.items()) == 3 and "secret-state" not in states
    assert counters(ctl)["notify_wrong_client_state"] == 3


def test_unknown_subscription(office, receiver, ctl, sim):
    s = subscribe(office, receiver)
    ctl.unknown_subscription_notifications(subscription_id=s["id"], count=2)
    assert sim.wait_idle(15)
    items = receiver.items()
    assert len(items) == 2 and all(i["subscriptionId"] != s["id"] for i in items)
    assert {i["tenantId"] for i in items} == {office.tid}
    assert counters(ctl)["notify_unknown_subscription"] == 2


def test_remove_subscription_sends_subscription_removed_and_stops_delivery(office, receiver, ctl, sim):
    s = subscribe(office, receiver)
    ctl.remove_subscription(s["id"])
    (event,) = receiver.wait_items(1, "/lifecycle")
    assert event["lifecycleEvent"] == "subscriptionRemoved" and event["subscriptionId"] == s["id"]
    assert set(event) == LIFECYCLE_KEYS and event["clientState"] == "secret-state"
    assert office.graph("GET", f"/subscriptions/{s['id']}").status_code == 404
    book(office, ctl)
    assert sim.wait_idle(15)
    assert receiver.items() == []
    assert counters(ctl)["notify_remove_subscription"] == 1


def test_endpoint_forced_to_drop_mode_then_retested(office, receiver, ctl, sim):
    s = subscribe(office, receiver)
    ctl.set_endpoint_mode(s["notificationUrl"], "dropped", duration_s=3600)
    book(office, ctl)
    assert sim.wait_idle(15)
    assert receiver.items() == []
    (event,) = receiver.wait_items(1, "/lifecycle")
    assert event["lifecycleEvent"] == "missed"
    health = {e["url"]: e for e in ctl.endpoint_health()}[s["notificationUrl"]]
    assert health["mode"] == "dropped" and health["forced"]
    assert counters(ctl)["notify_endpoint_dropped"] == 1
    ctl.set_endpoint_mode(s["notificationUrl"], "normal")
    m = book(office, ctl, start="2026-03-03T10:00:00", end="2026-03-03T11:00:00")
    assert sim.wait_idle(15)
    assert [i["resourceData"]["id"] for i in receiver.items()] == [m["copies"][office.rooms[0]]]


def test_clearing_faults_clears_notification_plans(office, receiver, ctl, sim):
    subscribe(office, receiver)
    ctl.inject_notification_fault("drop", count=5)
    assert len(ctl.notification_faults()["plans"]) == 1
    ctl.clear_faults()
    assert ctl.notification_faults()["plans"] == []
    book(office, ctl)
    assert sim.wait_idle(15) and len(receiver.items()) == 1
