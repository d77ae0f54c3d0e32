"""Incremental aggregation after marks equals a full rebuild; only changed months are rewritten; the sync marks."""

from datetime import UTC, datetime, timedelta

import polars as pl

from shared.analytics import frames
from shared.analytics.aggregation import DIRTY, QUEUE, STATE, Aggregation
from shared.analytics.store import MemoryBlobs, ParquetAggregateStore
from shared.models import Room, Tenant, TenantSettings
from shared.sync.event_rows import EventRows, PageTotals
from tests.fakes import FakeGraph, FakeQueue, FixedClock, InMemoryTables, make_graph_event

T = "7f000000-0000-0000-0000-000000000001"
ROOMS = ("north@contoso.com", "south@contoso.com")


def _world():
    tables, clock, queues = InMemoryTables(), FixedClock(datetime(2026, 11, 24, 9, tzinfo=UTC)), FakeQueue()
    settings = TenantSettings(backfill_days=40, retention_days=60, lookahead_days=20, time_zone="Europe/Amsterdam")
    tables.upsert("Tenants", Tenant(id=T, status="active", settings=settings, created_at=clock.now(),
                                    updated_at=clock.now()).to_entity())
    for email in ROOMS:
        tables.upsert("Rooms", Room(tenant_id=T, email=email, capacity=8, building="A",
                                    last_full_sync_at=clock.now()).to_entity())
    rows = EventRows(tables, clock, hash_key="k")
    return tables, clock, queues, rows


def _agg(tables, clock, queues, blobs=None):
    graph = FakeGraph()
    graph.add_room(T, ROOMS[0])  # the other room's mailbox settings are unreadable
    return Aggregation(tables, ParquetAggregateStore(blobs or MemoryBlobs()), clock, hash_key="k", queues=queues,
                       graph=graph)


def _book(rows, room, start, minutes, event_id, **fields):
    item = make_graph_event(start=start, end=start + timedelta(minutes=minutes), event_id=event_id, room=room,
                            attendees=("a@contoso.com", "b@fabrikam.com"), **fields)
    rows.write_page(T, room, [item], "g1", PageTotals())


def _all(agg_store, months):
    return agg_store.read(T, "bookings", months)


def test_incremental_after_changes_equals_full_rebuild():
    tables, clock, queues, rows = _world()
    incremental = _agg(tables, clock, queues)
    monday = datetime(2026, 11, 2, 9, tzinfo=UTC)
    _book(rows, ROOMS[0], monday, 60, "e1")
    _book(rows, ROOMS[1], monday + timedelta(days=1), 90, "e2")
    incremental.rebuild(T)
    # changes: a move into another month, a cancellation, a new overlapping booking, a removal
    _book(rows, ROOMS[0], datetime(2026, 12, 1, 10, tzinfo=UTC), 60, "e1")
    _book(rows, ROOMS[1], monday + timedelta(days=1), 90, "e2", isCancelled=True)
    _book(rows, ROOMS[1], monday + timedelta(days=2, minutes=30), 60, "e3")
    _book(rows, ROOMS[1], monday + timedelta(days=2), 60, "e4")
    rows.write_page(T, ROOMS[1], [{"id": "e4", "@removed": {"reason": "deleted"}}], "g1", PageTotals())
    for room in ROOMS:
        result = incremental.refresh_room(T, room)
        assert 0 < result.months_recomputed < result.months_total
    fresh = _agg(tables, clock, queues)
    fresh.rebuild(T)
    months = [f"2026-{m:02d}" for m in range(9, 13)]
    got, want = _all(incremental._store, months), _all(fresh._store, months)
    assert got.height == want.height > 0
    assert got.equals(want)
    nov3 = frames.from_frame(got.filter((pl.col("room") == ROOMS[1]) & (pl.col("day") == monday.date()
                                                                         + timedelta(days=2))))[0]
    assert (nov3.meetings, nov3.booked_seconds) == (1, 3600)


def test_event_rows_mark_rooms_and_the_first_mark_enqueues():
    tables, clock, queues, _ = _world()
    agg = _agg(tables, clock, queues)
    rows = EventRows(tables, clock, hash_key="k", on_written=agg.mark)
    _book(rows, ROOMS[0], datetime(2026, 11, 2, 9, tzinfo=UTC), 30, "x1")
    _book(rows, ROOMS[0], datetime(2026, 11, 2, 10, tzinfo=UTC), 30, "x2")
    rows.write_page(T, ROOMS[1], [], "g1", PageTotals())  # nothing written: no mark
    assert [(q, p) for q, p, _ in queues.sent] == [(QUEUE, {"tenant": T, "room": ROOMS[0]})]
    agg.handle({"tenant": T, "room": ROOMS[0]})
    assert list(tables.query(DIRTY)) == []
    state = tables.get(STATE, T, ROOMS[0])
    assert (state["time_zone"], state["time_zone_source"]) == ("Europe/Berlin", "mailbox")  # W. Europe
    agg.refresh_room(T, ROOMS[1])
    state = tables.get(STATE, T, ROOMS[1])
    assert (state["time_zone"], state["time_zone_source"]) == ("Europe/Amsterdam", "tenant")
    assert state["mailbox_zone_error"].startswith("mailbox_not_found")


def test_departments_only_with_directory_reads_cached_by_pseudonym():
    from shared.analytics.departments import TABLE, Departments

    tables, clock, _, rows = _world()
    graph = FakeGraph()
    graph.add_room(T, ROOMS[0])
    graph.departments[(T, "organizer@contoso.com")] = "Finance"
    departments = Departments(tables, graph, clock, hash_key="k")
    agg = Aggregation(tables, ParquetAggregateStore(MemoryBlobs()), clock, hash_key="k", graph=graph,
                      department=departments)
    _book(rows, ROOMS[0], datetime(2026, 11, 3, 9, tzinfo=UTC), 60, "d1")
    agg.refresh_room(T, ROOMS[0])
    groups = [g for d in frames.from_frame(agg._store.read(T, "bookings", ["2026-11"])) for g in d.groups]
    assert [(g.domain, g.department) for g in groups] == [("contoso.com", "")]  # directory reads off
    tenant = Tenant.from_entity(tables.get("Tenants", "tenant", T))
    tables.upsert("Tenants", Tenant(**{**tenant.model_dump(), "settings": tenant.settings.model_copy(
        update={"directory_reads": True})}).to_entity())
    agg.refresh_room(T, ROOMS[0])
    agg.refresh_room(T, ROOMS[0])
    groups = [g for d in frames.from_frame(agg._store.read(T, "bookings", ["2026-11"])) for g in d.groups]
    assert [(g.domain, g.department, g.meetings) for g in groups] == [("contoso.com", "Finance", 1)]
    assert [c for c in graph.calls if c[0] == "get_user_department"] == [
        ("get_user_department", T, "organizer@contoso.com")]  # cached afterwards
    stored = list(tables.query(TABLE))
    assert stored and "organizer@contoso.com" not in str(stored)


def test_one_message_recomputes_every_marked_room_of_the_tenant_once_per_month():
    tables, clock, queues, _ = _world()
    blobs = MemoryBlobs()
    agg = _agg(tables, clock, queues, blobs)
    rows = EventRows(tables, clock, hash_key="k", on_written=agg.mark)
    for i, room in enumerate(ROOMS):
        _book(rows, room, datetime(2026, 11, 2 + i, 9, tzinfo=UTC), 30, f"m{i}")
    assert len(queues.messages(QUEUE)) == 2
    writes = []
    real_put = blobs.put
    blobs.put = lambda name, data, **kw: writes.append(name) or real_put(name, data, **kw)
    first, second = queues.messages(QUEUE)
    agg.handle(first)
    assert len(writes) == len(set(writes))  # each month file written once for both rooms
    assert list(tables.query(DIRTY)) == []  # marks cleared, lease released
    writes.clear()
    agg.handle(second)  # its room was done by the first: nothing to do
    assert writes == []
    tables.insert(DIRTY, {"PartitionKey": T, "RowKey": "~lease", "expires_at": "2099-01-01T00:00:00.000000Z"})
    _book(rows, ROOMS[0], datetime(2026, 11, 9, 9, tzinfo=UTC), 30, "m9")
    assert agg.refresh_marked(T) == 0  # another worker holds the tenant: it will see this mark
    assert {m["RowKey"] for m in tables.query(DIRTY)} == {"~lease", ROOMS[0]}
