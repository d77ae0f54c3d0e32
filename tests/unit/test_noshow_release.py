"""The no-show release with fakes: dry run, decline as the room, exactly once, and every rule that forbids it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import Conflict
from shared.models import Room, TenantSettings
from shared.occupancy import ingest as occ
from shared.occupancy.release import NoShowRelease
from shared.occupancy.report import RELEASES
from shared.onboarding import tenants
from shared.ops import audit
from shared.sync.privacy import normalise_event
from tests.fakes import FakeGraph, FixedClock, InMemoryTables

TID = "aaaaaaaa-bbbb-cccc-dddd-0000000000b1"
HASH = "h" * 32
ROOM = "room1@contoso.com"
START = datetime(2026, 3, 10, 9, tzinfo=UTC)


class World:
    def __init__(self, **settings):
        self.tables, self.clock, self.graph = InMemoryTables(), FixedClock(START + timedelta(minutes=11)), FakeGraph()
        tenant = tenants.mark_consented(self.tables, self.clock, TID)
        fields = {"noshow_release": True, **settings}
        tenants.save(self.tables, tenant.model_copy(update={"settings": TenantSettings(**fields)}))
        self.tables.upsert("Rooms", Room(tenant_id=TID, email=ROOM, display_name="Tulip", sensor_id="sn-1",
                                         time_zone="Europe/Amsterdam").to_entity())
        self.tables.upsert("RoomChecks", {"PartitionKey": TID, "RowKey": ROOM, "can_write": True})
        self.graph.add_room(TID, ROOM)
        self.ingest = occ.Ingest(self.tables, self.clock)

    def meeting(self, start=START, minutes=60, created=None) -> str:
        event_id = self.graph.add_event(TID, ROOM, start=start, end=start + timedelta(minutes=minutes),
                                        created=created or start - timedelta(days=1), attendees=("ann@contoso.com",))
        event = normalise_event(self.graph.get_event(TID, ROOM, event_id), tenant_id=TID, room_email=ROOM,
                                hash_key=HASH)
        self.tables.upsert("Events", event.to_entity())
        return event_id

    def vacant(self, start, end, occupied_at=None):
        rows, t = [], start
        while t < end:
            occupied = occupied_at is not None and t >= occupied_at
            rows.append({"sensor": "sn-1", "time": t.isoformat(), "occupied": occupied})
            t += timedelta(minutes=5)
        report = self.ingest.ingest(TID, "samples", list(enumerate(rows, 1)))
        assert report["rejected"] == 0, report

    def release(self):
        return NoShowRelease(self.tables, self.clock, self.graph, hash_key=HASH, hold=15, stale_minutes=30)


@pytest.fixture
def world():
    return World()


def _decisions(result):
    return [(o.decision, o.reason) for o in result.outcomes]


def test_dry_run_lists_without_acting_then_the_release_declines_as_the_room(world):
    event_id = world.meeting()
    world.vacant(START - timedelta(minutes=5), world.clock.now())
    dry = world.release().sweep(TID, dry_run=True)
    assert _decisions(dry) == [("would_release", "")]
    assert world.graph.declined == [] and not world.tables.rows.get(RELEASES)
    done = world.release().sweep(TID)
    assert _decisions(done) == [("released", "")]
    assert [(m, e) for _, m, e, _ in world.graph.declined] == [(ROOM, event_id)]
    assert "Tulip" in world.graph.declined[0][3] and "10 minutes" in world.graph.declined[0][3]
    assert world.graph.get_event(TID, ROOM, event_id)["responseStatus"]["response"] == "declined"
    assert audit.list_entries(world.tables, tenant_id=TID)[0]["action"] == "noshow.released"
    assert done.graph_calls == 2


def test_never_twice_across_retries_and_restarts(world):
    world.meeting()
    world.vacant(START - timedelta(minutes=5), world.clock.now())
    world.release().sweep(TID)
    world.clock.advance(minutes=5)
    world.vacant(world.clock.now() - timedelta(minutes=5), world.clock.now())
    again = world.release().sweep(TID)  # a new process: only the table remembers
    assert _decisions(again) == [("skipped", "already_released")] and len(world.graph.declined) == 1


def test_a_crash_after_the_decline_is_finished_without_declining_again(world):
    event_id = world.meeting()
    world.vacant(START - timedelta(minutes=5), world.clock.now())
    world.release().sweep(TID)
    row = next(iter(world.tables.rows[RELEASES].values()))
    world.tables.upsert(RELEASES, {**row, "outcome": "pending"})  # as if the process died before recording
    result = world.release().sweep(TID)
    assert _decisions(result) == [("released", "already_declined_by_room")]
    assert [e for _, _, e, _ in world.graph.declined] == [event_id]


def test_presence_within_the_grace_period_or_after_it_prevents_the_release(world):
    world.meeting()
    world.vacant(START - timedelta(minutes=5), world.clock.now(), occupied_at=START + timedelta(minutes=5))
    assert _decisions(world.release().sweep(TID)) == [("skipped", "presence")] and not world.graph.declined


def test_no_release_without_write_permission_or_with_a_stale_or_silent_sensor():
    w = World()
    w.meeting()
    w.vacant(START - timedelta(minutes=5), w.clock.now())
    w.tables.upsert("RoomChecks", {"PartitionKey": TID, "RowKey": ROOM, "can_write": False})
    assert _decisions(w.release().sweep(TID)) == [("skipped", "write_access_not_verified")]
    w = World()
    w.meeting()
    w.vacant(START - timedelta(minutes=5), START + timedelta(minutes=5))
    w.clock.advance(minutes=30)
    assert _decisions(w.release().sweep(TID))[0] == ("skipped", "stale_sensor")
    w = World()
    w.meeting()
    w.vacant(START - timedelta(minutes=40), START - timedelta(minutes=20))  # silent in the grace period
    w.vacant(START + timedelta(minutes=9), w.clock.now())
    assert _decisions(w.release().sweep(TID)) == [("skipped", "no_sensor_data")]
    assert not w.graph.declined


def test_long_blocks_last_moment_bookings_out_of_scope_rooms_and_the_switch():
    w = World()
    w.meeting(minutes=8 * 60)
    w.meeting(start=START, minutes=30, created=START - timedelta(minutes=3))
    w.vacant(START - timedelta(minutes=5), w.clock.now())
    assert sorted(r for _, r in _decisions(w.release().sweep(TID))) == ["booked_at_the_last_moment", "long_block"]
    w = World(noshow_release_buildings=["Elsewhere"])
    w.meeting()
    w.vacant(START - timedelta(minutes=5), w.clock.now())
    assert w.release().sweep(TID).outcomes == []
    w = World(noshow_release=False)
    w.meeting()
    w.vacant(START - timedelta(minutes=5), w.clock.now())
    with pytest.raises(Conflict):
        w.release().sweep(TID)
    assert _decisions(w.release().sweep(TID, dry_run=True)) == [("would_release", "")]
    assert w.release().sweep_all() == []


def test_a_meeting_moved_since_the_sync_is_not_declined(world):
    event_id = world.meeting()
    world.vacant(START - timedelta(minutes=5), world.clock.now())
    moved = START + timedelta(minutes=30)
    world.graph.update_event(TID, ROOM, event_id, start={"dateTime": moved.strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                                                          "timeZone": "UTC"})
    assert _decisions(world.release().sweep(TID)) == [("skipped", "event_moved_or_deleted")]
    assert not world.graph.declined


def test_a_series_is_stopped_after_n_released_occurrences_in_a_row():
    w = World(noshow_series_strikes=2)
    master = w.graph.add_event(TID, ROOM, start=START, end=START + timedelta(hours=1), type="seriesMaster",
                               attendees=("ann@contoso.com",))
    occurrences = []
    for day in range(2):
        start = START + timedelta(days=day)
        w.clock.at = start + timedelta(minutes=11)
        event_id = w.graph.add_event(TID, ROOM, start=start, end=start + timedelta(hours=1), type="occurrence",
                                     seriesMasterId=master, created=start - timedelta(days=3))
        event = normalise_event(w.graph.get_event(TID, ROOM, event_id), tenant_id=TID, room_email=ROOM,
                                hash_key=HASH)
        w.tables.upsert("Events", event.to_entity())
        w.vacant(start - timedelta(minutes=5), w.clock.now())
        w.release().sweep(TID)
        occurrences.append(event_id)
    w.clock.advance(minutes=5)
    w.release().sweep(TID)  # stopped once only
    assert [d[2] for d in w.graph.declined] == [*occurrences, master]
    assert "rest of this series" in w.graph.declined[-1][3] and "last 2 meetings" in w.graph.declined[-1][3]
    assert "noshow.series_stopped" in [e["action"] for e in audit.list_entries(w.tables, tenant_id=TID)]
