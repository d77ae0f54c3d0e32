import dataclasses
import json

import pytest
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest

from functions import sync_queue, timers
from shared import bootstrap
from shared.config import load_settings
from shared.errors import InvalidInput
from shared.messages import ROOM_CHANGES
from shared.sync.room_changes import RoomChangeHandler
from shared.sync.sync_lease import TABLE as ROOM_SYNC
from shared.sync.sync_lease import RoomSyncLeases
from tests.fakes import FakeQueue, FixedClock, InMemoryTables

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"


@pytest.fixture
def services(monkeypatch):
    built = bootstrap.build_services(load_settings(environment="development"), tables=InMemoryTables(),
                                     queues=FakeQueue(), clock=FixedClock())
    rounds = []
    leases = RoomSyncLeases(built.tables, built.queues, built.clock)
    handler = RoomChangeHandler(leases, lambda lease, change: rounds.append(change.room), built.tables, built.clock)
    built = dataclasses.replace(built, room_changes=handler)
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    return built, rounds


def test_room_changes_message_runs_a_round(services):
    _, rounds = services
    body = json.dumps({"tenant": TENANT, "room": "r@contoso.com", "reason": "notification",
                       "at": "2026-11-24T08:59:00Z"})
    sync_queue.room_changes(QueueMessage(id="1", body=body.encode(), dequeue_count=1))
    assert rounds == ["r@contoso.com"]


def test_a_malformed_message_raises_so_the_host_retries_then_poisons(services):
    with pytest.raises(InvalidInput):
        sync_queue.room_changes(QueueMessage(id="1", body=b'{"room": 1}', dequeue_count=1))


def test_catch_up_timer_enqueues_rooms(services):
    built, _ = services
    built.tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active"})
    built.tables.upsert(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": "r@contoso.com", "room": "r@contoso.com"})
    timers.catch_up_rooms(TimerRequest())
    (tenant_job,) = built.queues.messages("catchup-tenants")
    sync_queue.catch_up_tenant(QueueMessage(id="2", body=json.dumps(tenant_job).encode(), dequeue_count=1))
    assert [m["reason"] for m in built.queues.messages(ROOM_CHANGES)] == ["catchup"]  # no delta link: a round


def test_renewal_timer_fans_out_and_the_tenant_worker_asks_for_missing_subscriptions(monkeypatch):
    from tests.fakes import FakeGraph

    settings = load_settings(environment="development", client_id="app", client_secret="x")
    built = bootstrap.build_services(settings, tables=InMemoryTables(), queues=FakeQueue(), clock=FixedClock(),
                                     graph=FakeGraph())
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    built.tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": TENANT, "status": "active"})
    built.tables.upsert(ROOM_SYNC, {"PartitionKey": TENANT, "RowKey": "r@contoso.com", "room": "r@contoso.com",
                                    "delta_link": "https://graph.fake/v1.0/x"})
    timers.renew_subscriptions(TimerRequest())
    (job,) = built.queues.messages("renewal-tenants")
    sync_queue.renew_tenant_subscriptions(QueueMessage(id="3", body=json.dumps(job).encode(), dequeue_count=1))
    assert [(m["action"], m["room"]) for m in built.queues.messages("subscription-maintenance")] == [
        ("recreate", "r@contoso.com")]
