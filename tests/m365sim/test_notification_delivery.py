"""Change notifications delivered to a local endpoint: payload shape, batching, retries with backoff on a
time-scaled clock, the delivery log, expiry (GRAPH_NOTES A5, A6)."""

from __future__ import annotations

from .test_subscriptions import _expiry, sub_body

START, END = "2026-03-02T10:00:00", "2026-03-02T11:00:00"


def subscribe(office, rx, **kw) -> dict:
    r = office.graph("POST", "/subscriptions", json=sub_body(office, rx, **kw))
    assert r.status_code == 201, r.text
    return r.json()


def book(office, ctl, room: str | None = None, **kw) -> dict:
    return ctl.create_meeting(
        office.tid, f"ann@{office.domain}", [room or office.rooms[0]], kw.pop("start", START), kw.pop("end", END), **kw
    )


def test_created_updated_deleted_arrive_in_the_documented_shape(office, receiver, ctl, sim):
    s = subscribe(office, receiver)
    m = book(office, ctl)
    event_id = m["copies"][office.rooms[0]]
    ctl.update_meeting(office.tid, m["id"], subject="moved")
    ctl.delete_meeting(office.tid, m["id"])
    assert sim.wait_idle(15)
    items = receiver.wait_items(3)
    assert sorted(i["changeType"] for i in items) == ["created", "deleted", "updated"]  # no order is promised
    mbx_id = sim.world.tenant(office.tid).mailbox(office.rooms[0]).id
    for i in items:
        assert set(i) == {
            "subscriptionId", "subscriptionExpirationDateTime", "changeType", "resource", "resourceData",
            "clientState", "tenantId",
        }  # fmt: skip
        assert i["subscriptionId"] == s["id"] and i["clientState"] == "secret-state"
        assert i["tenantId"] == office.tid and i["subscriptionExpirationDateTime"] == s["expirationDateTime"]
        assert i["resource"] == f"Users/{mbx_id}/Events/{event_id}"
        rd = i["resourceData"]
        assert rd["@odata.type"] == "#Microsoft.Graph.Event" and rd["@odata.id"] == i["resource"]
        assert rd["id"] == event_id and rd["@odata.etag"].startswith('W/"')
    post = receiver.posts()[0]
    assert post.headers["Content-Type"].startswith("application/json") and post.query == {"tenant": "a"}
    assert receiver.posts("/lifecycle") == []  # nothing went wrong, so no lifecycle traffic
    # the organiser's own copy and other rooms are other mailboxes: not in this subscription
    assert {i["resourceData"]["id"] for i in items} == {event_id}


def test_change_types_filter_and_batching_mixes_subscriptions(office, receiver, ctl, sim):
    ctl.settings(notify_batch_window_ms=400)
    a = subscribe(office, receiver, changeType="created")
    b = subscribe(office, receiver, room=office.rooms[1], changeType="created,deleted")
    m = ctl.create_meeting(office.tid, f"ann@{office.domain}", office.rooms[:2], START, END)
    ctl.update_meeting(office.tid, m["id"], subject="not subscribed")
    assert sim.wait_idle(15)
    items = receiver.wait_items(2)
    assert sorted(i["subscriptionId"] for i in items) == sorted([a["id"], b["id"]])
    assert {i["changeType"] for i in items} == {"created"}
    assert len(receiver.posts()) == 1  # one POST, value[] with both subscriptions


def test_500_is_retried_with_backoff_until_2xx(office, receiver, ctl, sim):
    ctl.settings(notify_time_scale=1000)  # 10 s, 20 s, 40 s of backoff become 10, 20, 40 ms
    receiver.statuses = [500, 503, 500]
    subscribe(office, receiver, changeType="created")
    m = book(office, ctl)
    assert sim.wait_idle(15)
    posts = receiver.posts()
    assert len(posts) == 4 and all(p.json == posts[0].json for p in posts)
    log = [e for e in ctl.notification_log() if e["url"].endswith("/notify?tenant=a")]
    assert [e["status"] for e in log] == [500, 503, 500, 202]
    assert [e["attempt"] for e in log] == [1, 2, 3, 4]
    assert [e["outcome"] for e in log] == ["failed", "failed", "failed", "delivered"]
    last = log[-1]
    assert last["items"][0]["resourceId"] == m["copies"][office.rooms[0]]
    assert last["items"][0]["stamp"] > 0 and last["items"][0]["changeAt"] and last["ackAt"] >= last["sentAt"]
    assert [e["retryInS"] for e in log] == [10, 20, 40, None]  # exponential backoff, emulated seconds
    stats = ctl.notification_stats()["counters"]
    assert stats["retries"] == 3 and stats["delivered"] == 1


def test_retries_give_up_after_the_horizon_and_owe_a_missed_event(office, receiver, ctl, sim):
    ctl.settings(notify_time_scale=100_000)  # 4 h of retries in well under a second
    receiver.statuses = [500] * 1000
    s = subscribe(office, receiver, changeType="created")
    book(office, ctl)
    assert sim.wait_idle(20)
    assert ctl.notification_stats()["counters"]["discarded_retries_exhausted"] == 1
    receiver.statuses = []
    assert sim.wait_idle(10)
    missed = receiver.wait_items(1, "/lifecycle")
    assert missed == [
        {
            "subscriptionId": s["id"],
            "subscriptionExpirationDateTime": s["expirationDateTime"],
            "tenantId": office.tid,
            "clientState": "secret-state",
            "lifecycleEvent": "missed",
        }
    ]


def test_slow_answer_counts_as_failed_and_is_retried(office, receiver, ctl, sim):
    ctl.settings(notify_answer_timeout_s=0.2, notify_time_scale=1000)
    receiver.delay_s = 0.5
    subscribe(office, receiver, changeType="created")
    book(office, ctl)
    receiver.wait_items(1)  # the first POST arrived (its answer is still sleeping)
    receiver.delay_s = 0
    assert sim.wait_idle(15)
    log = ctl.notification_log()
    assert log[0]["outcome"] == "timeout" and log[0]["status"] is None
    assert log[-1]["outcome"] == "delivered" and log[-1]["attempt"] >= 2


def test_expired_subscriptions_are_deleted_and_stop_delivering(office, receiver, ctl, sim):
    s = subscribe(office, receiver, expirationDateTime=_expiry(sim, 60))
    ctl.advance_clock(3601)
    assert sim.wait_idle(10)  # runs the expiry sweep
    assert ctl.subscriptions() == []
    assert office.graph("GET", f"/subscriptions/{s['id']}").status_code == 404
    book(office, ctl)
    assert sim.wait_idle(10)
    assert receiver.posts() == []
    assert ctl.notification_stats()["counters"]["subscriptions_expired"] == 1


def test_flush_route_and_log_paging(office, receiver, ctl):
    subscribe(office, receiver, changeType="created")
    book(office, ctl)
    assert ctl.flush_notifications(timeout_s=10) == {"idle": True, "pending": 0}
    log = ctl.notification_log()
    assert len(log) == 1 and ctl.notification_log(since=log[0]["seq"]) == []
