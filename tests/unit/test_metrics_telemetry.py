"""RoomCal's custom metrics (shared/metrics.py) are emitted where the product's health shows, with tenant/room/
reason dimensions only; OpenTelemetry is configured only with a connection string and costs no import otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from shared import metrics
from shared.errors import AccessDenied
from shared.messages import ROOM_CHANGES
from shared.sync.catchup import enqueue_catch_up
from shared.sync.room_changes import RoomChangeHandler
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from shared.sync.sync_lease import RoomSyncLeases
from shared.sync.webhook_urls import WebhookUrls
from tests.fakes import FakeQueue, FixedClock, InMemoryTables
from tests.unit.test_graph_adapter import ROOM, client, graph, ok
from tests.unit.test_graph_adapter import TENANT as GRAPH_TENANT
from tests.unit.test_notifications import _body, _item
from tests.unit.test_notifications import _world as notification_world

TEST_URLS = lambda: WebhookUrls("https://roomcal.example/api/notifications?code=n-key",  # noqa: E731
                                "https://roomcal.example/api/lifecycle?code=l-key")

ROOT = Path(__file__).resolve().parents[2]
TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"


def names(sink) -> list[str]:
    return [name for name, _, _ in sink]


class FakeMeter:
    def __init__(self):
        self.points = []

    def create_counter(self, name, unit=""):
        return FakeInstrument(self, name)

    create_histogram = create_counter


class FakeInstrument:
    def __init__(self, meter, name):
        self.meter, self.name = meter, name

    def add(self, value, attributes):
        self.meter.points.append((self.name, value, attributes))

    record = add


def test_without_a_meter_nothing_is_sent_and_a_bound_meter_gets_each_point():
    meter = FakeMeter()
    metrics.poison_message(ROOM_CHANGES, TENANT)  # unbound: a no-op
    metrics.bind(meter)
    try:
        metrics.poison_message(ROOM_CHANGES, TENANT)
        metrics.graph_throttled(TENANT)
    finally:
        metrics.bind(None)
    assert meter.points == [("roomcal.poison_messages", 1, {"queue": ROOM_CHANGES, "tenant": TENANT}),
                            ("roomcal.graph_throttled", 1, {"tenant": TENANT})]


def test_dimensions_are_bounded_operational_identifiers_only():
    with metrics.captured() as sink:
        metrics.subscription_failure(TENANT, "x" * 500 + "\n")
        metrics._emit("counter", "roomcal.test", 1, {"tenant": TENANT, "subject": "Board meeting"})
    (_, _, dims), (_, _, extra) = sink
    assert len(dims["reason"]) <= 200 and "\n" not in dims["reason"]
    assert extra == {"tenant": TENANT}


def test_sync_lag_is_per_tenant_always_and_per_room_only_when_late():
    tables, queue, clock = InMemoryTables(), FakeQueue(), FixedClock()
    tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active"})
    for room, minutes in (("fresh@contoso.com", 5), ("late@contoso.com", 90)):
        tables.upsert(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": room, "room": room,
                                  "synced_through": (clock.now() - timedelta(minutes=minutes)).isoformat()})
    with metrics.captured() as sink:
        enqueue_catch_up(tables, queue, clock)
    lag = [(value, dims) for name, value, dims in sink if name == "roomcal.sync_lag_seconds"]
    assert sorted(v for v, d in lag if "room" not in d) == [300, 5400]
    assert [(v, d["room"]) for v, d in lag if "room" in d] == [(5400, "late@contoso.com")]


def test_the_last_failed_attempt_counts_a_poison_message():
    def broken(lease, change):
        raise RuntimeError("bug")

    tables, queue, clock = InMemoryTables(), FakeQueue(), FixedClock()
    handler = RoomChangeHandler(RoomSyncLeases(tables, queue, clock), broken, tables, clock, max_dequeue_count=5)
    payload = {"tenant": TENANT, "room": "room-a@contoso.com", "reason": "initial",
               "at": (clock.now() - timedelta(seconds=1)).isoformat()}
    with metrics.captured() as sink:
        for attempt in (1, 5):
            with pytest.raises(RuntimeError):
                handler.handle(payload, dequeue_count=attempt)
    assert sink == [("roomcal.poison_messages", 1, {"queue": ROOM_CHANGES, "tenant": TENANT})]


def test_notifications_received_and_refused_by_reason():
    service, _, _ = notification_world()
    with metrics.captured() as sink:
        service.accept_changes(_body(_item(sub="00000000-0000-0000-0000-000000000000"), _item()))
    assert ("roomcal.notifications_refused", 1, {"operation": "changes", "reason": "unknown_subscription"}) in sink
    assert [v for n, v, _ in sink if n == "roomcal.notifications_received"] == [1]


def test_graph_429_is_counted_per_tenant():
    from tests.http_fakes import graph_error

    server = graph().on("GET", f"/users/{ROOM}/events/e1",
                        graph_error(429, "TooManyRequests", headers={"Retry-After": "1"}), ok({"id": "e1"}))
    with metrics.captured() as sink:
        client(server)[0].get_event(GRAPH_TENANT, ROOM, "e1")
    assert sink == [("roomcal.graph_throttled", 1, {"tenant": GRAPH_TENANT})]


def test_subscription_failure_is_counted_with_its_reason():
    from shared.sync.subscriptions import SubscriptionManager

    class Denying:
        def __getattr__(self, name):
            def call(*args, **kwargs):
                raise AccessDenied("room mailbox is outside the application's Exchange RBAC scope")
            return call

    tables, queue, clock = InMemoryTables(), FakeQueue(), FixedClock()
    from shared.sync.subscription_directory import SubscriptionDirectory

    manager = SubscriptionManager(Denying(), tables, SubscriptionDirectory(tables), queue, clock,
                                  urls=TEST_URLS)
    with metrics.captured() as sink:
        manager.handle({"action": "recreate", "tenant": TENANT, "room": "room-a@contoso.com", "reason": "missing",
                        "at": clock.now().isoformat()})
    assert ("roomcal.subscription_failures", 1, {"tenant": TENANT, "reason": "access_denied"}) in sink


IMPORTS = """
import json, sys
import function_app
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("opentelemetry", "azure.monitor")))))
"""


def run(env: dict) -> list[str]:
    done = subprocess.run([sys.executable, "-c", IMPORTS], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", **env})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_connection_string_no_opentelemetry_import():
    assert run({}) == []


def test_a_connection_string_configures_the_azure_monitor_distro():
    loaded = run({"APPLICATIONINSIGHTS_CONNECTION_STRING":
                  "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/",
                  "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", "OTEL_METRIC_EXPORT_INTERVAL": "600000"})
    assert "azure.monitor.opentelemetry" in loaded and "opentelemetry.sdk.metrics" in loaded
