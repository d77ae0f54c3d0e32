"""Erasure of one person (GDPR art. 17): every stored trace of one address, for one tenant, becomes a
stable pseudonym; audited, idempotent, and a later delta cannot bring the address back."""

import json
from datetime import UTC, datetime, timedelta

from shared import bootstrap, keys
from shared.config import load_settings
from shared.messages import RoomChange
from shared.ops import audit, erasure
from shared.sync import erasure as erased_people
from shared.sync.event_rows import EVENTS
from tests.fakes import FakeGraph, FakeQueue, FixedClock, InMemoryTables

TID = "6f1c3c1e-0000-4000-8000-0000000000e1"
OTHER = "6f1c3c1e-0000-4000-8000-0000000000e2"
ROOM = "room@contoso.com"
ANN = "ann@contoso.com"
KEY = "k" * 32
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _world():
    tables, queues, clock, graph = InMemoryTables(), FakeQueue(), FixedClock(START - timedelta(days=1)), FakeGraph()
    settings = load_settings(environment="development", hash_key=KEY, client_id="app", client_secret="x")
    services = bootstrap.build_services(settings, tables=tables, queues=queues, clock=clock, graph=graph)
    for tid in (TID, OTHER):
        graph.add_room(tid, ROOM)
        tables.upsert("Tenants", {"PartitionKey": "tenant", "RowKey": tid, "status": "active",
                                  "created_at": clock.now(), "updated_at": clock.now()})
        tables.upsert("Rooms", {"PartitionKey": tid, "RowKey": ROOM})
    return services, graph


def _sync(services, tid=TID):
    services.room_changes.handle(RoomChange(tenant=tid, room=ROOM, reason="notification",
                                            at=services.clock.now()).to_payload())
    services.clock.advance(seconds=1)


def _drain_erasures(services):
    while messages := services.queues.messages(erased_people.QUEUE):
        services.queues.sent = [m for m in services.queues.sent if m[0] != erased_people.QUEUE]
        for m in messages:
            erased_people.rewrite_room(services.tables, m, hash_key=KEY)


def _stored(services, tid=TID) -> str:
    rows = list(services.tables.query(EVENTS, keys.room_partition(tid, ROOM)))
    rows += list(services.tables.query("Audit", tid))
    return json.dumps(rows, default=str)


def test_an_erased_address_is_gone_everywhere_replaced_by_one_pseudonym_and_counts_stay():
    services, graph = _world()
    for tid in (TID, OTHER):
        graph.add_event(tid, ROOM, start=START, end=START + timedelta(hours=1), organizer=ANN,
                        attendees=("bob@contoso.com",))
        graph.add_event(tid, ROOM, start=START + timedelta(hours=2), end=START + timedelta(hours=3),
                        organizer="bob@contoso.com", attendees=(ANN, "carl@contoso.com"))
        _sync(services, tid)
    audit.record(services.tables, services.clock, tenant_id=TID, action="settings.changed", actor=ANN)

    body = erasure.erase_person(services, TID, ANN, actor="dpo@contoso.com")
    _drain_erasures(services)

    assert ANN not in _stored(services)
    pseudonym = body["pseudonym"]
    assert pseudonym.endswith("@erased.invalid") and _stored(services).count(pseudonym) >= 3
    rows = [json.loads(r["attendees"]) for r in services.tables.query(EVENTS, keys.room_partition(TID, ROOM))]
    assert sorted(len(a) for a in rows) == [2, 3]  # attendee counts unchanged
    assert ANN in _stored(services, OTHER)  # the other tenant is untouched
    entry = next(e for e in audit.list_entries(services.tables, tenant_id=TID) if e["action"] == "person.erased")
    assert entry["actor"] == "dpo@contoso.com" and ANN not in json.dumps(entry)


def test_erasing_twice_is_the_same_and_a_later_delta_cannot_bring_the_address_back():
    services, graph = _world()
    event = graph.add_event(TID, ROOM, start=START, end=START + timedelta(hours=1), organizer=ANN)
    _sync(services)
    first = erasure.erase_person(services, TID, ANN.upper(), actor="dpo")
    _drain_erasures(services)
    again = erasure.erase_person(services, TID, ANN, actor="dpo")
    _drain_erasures(services)
    assert first["pseudonym"] == again["pseudonym"] and again["already_erased"] is True
    graph.update_event(TID, ROOM, event, isCancelled=True)  # the room keeps syncing
    graph.add_event(TID, ROOM, start=START + timedelta(hours=4), end=START + timedelta(hours=5),
                    organizer="bob@contoso.com", attendees=(ANN,))
    _sync(services)
    assert ANN not in _stored(services) and _stored(services).count(first["pseudonym"]) >= 2


def test_the_http_endpoint_answers_202_and_bad_input_400(monkeypatch):
    import azure.functions as func

    from functions import privacy

    services, _ = _world()
    monkeypatch.setattr(bootstrap, "get_services", lambda: services)

    def call(body):
        req = func.HttpRequest("POST", "/api/x", body=body, route_params={"tenant_id": TID})
        resp = privacy.erase_person(req)
        return resp.status_code, json.loads(resp.get_body())

    status, body = call(json.dumps({"email": ANN}).encode())
    assert status == 202 and body["rooms_queued"] == 1 and ANN not in json.dumps(body)
    assert call(b'{"email": "not-an-address"}')[0] == 400
    assert call(b'{"mail": "x"}')[0] == 400
