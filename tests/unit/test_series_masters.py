"""Occurrence stubs completed from their series master (shared/sync/series_masters.py): rows equal
the full events field by field; one read per master per round, whitelisted $select, bounded
concurrency; a master gone (404) removes its occurrences; a throttled master read fails the round
before its page is written and the delta link stays where it was."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from shared import keys
from shared.errors import Throttled
from shared.sync.event_rows import EVENTS
from shared.sync.privacy import normalise_event
from shared.sync.series_masters import MASTER_SELECT, SeriesMasters, is_stub
from tests.fakes import FakeGraph, make_series
from tests.unit.test_sync import HASH_KEY, TENANT, World

BOOKKEEPING = {"PartitionKey", "RowKey", "_etag", "sync_generation", "synced_at"}
SERIES_FIELDS = {"organizer": "bo@contoso.com",
                 "showAs": "tentative", "sensitivity": "private", "isOnlineMeeting": True,
                 "onlineMeeting": {"joinUrl": "https://teams.example/join/CANARY"},
                 "responseStatus": {"response": "tentativelyAccepted", "time": "2026-01-01T00:00:00Z"},
                 "subject": "CANARY subject"}


def _series(w: World, *, days: int = 2, count: int = 4, **fields):
    master, occurrences = make_series(start=w.clock.now() + timedelta(days=days), count=count, room=w.room,
                                      attendees=("x@contoso.com", "y@contoso.com"), **{**SERIES_FIELDS, **fields})
    for event in (master, *occurrences):
        w.graph.add_event(w.tenant, w.room, event)
    return master, occurrences


def _rows(w: World) -> dict:
    return {r["RowKey"]: {k: v for k, v in r.items() if k not in BOOKKEEPING}
            for r in w.tables.query(EVENTS, keys.room_partition(w.tenant, w.room))}


def _truth(w: World) -> dict:
    """Every event but the masters, normalised from its full Graph shape (what real calendarView returns)."""
    out = {}
    for event in w.graph.mailboxes[(w.tenant, w.room)].values():
        if event["type"] != "seriesMaster":
            entity = normalise_event(event, tenant_id=w.tenant, room_email=w.room, hash_key=HASH_KEY).to_entity()
            out[entity["RowKey"]] = {k: v for k, v in entity.items() if k not in BOOKKEEPING}
    return out


def _master_reads(w: World) -> int:
    return sum(1 for c in w.graph.calls if c[0] == "get_event")


class TestRowsEqualTheFullEvents:
    def test_singles_occurrences_and_exceptions_field_by_field(self):
        w = World(page_size=2)
        w.add(hours=3, showAs="free", isAllDay=True)
        _, occurrences = _series(w)
        exception = occurrences[1]
        exception.update(type="exception", showAs="busy",
                         start={"dateTime": "2026-11-27T15:00:00.0000000", "timeZone": "UTC"},
                         end={"dateTime": "2026-11-27T16:00:00.0000000", "timeZone": "UTC"})
        w.graph.update_event(w.tenant, w.room, exception["id"], **exception)
        assert w.hint("initial").status == "synced"
        rows, truth = _rows(w), _truth(w)
        assert rows == truth and len(rows) == 5
        occurrence_row = rows[keys.event_row_key(HASH_KEY, w.room, occurrences[0]["id"])]
        assert occurrence_row["organizer"] == "bo@contoso.com" and occurrence_row["show_as"] == "tentative"
        assert occurrence_row["sensitivity"] == "private" and occurrence_row["is_online"] is True
        assert occurrence_row["room_response"] == "tentativelyAccepted"

    def test_delta_sent_stubs_and_never_the_master(self):
        w = World(page_size=50)
        master, _ = _series(w, count=2)
        page = next(w.graph.calendar_view_delta(TENANT, w.room, start=w.clock.now(),
                                                end=w.clock.now() + timedelta(days=30)))
        assert [set(i) for i in page.items] == [{"@odata.type", "id", "type", "seriesMasterId", "start", "end"}] * 2
        assert all(is_stub(i) for i in page.items) and master["id"] not in {i["id"] for i in page.items}

    def test_an_edited_master_reaches_every_occurrence_on_the_next_round(self):
        w = World()
        master, occurrences = _series(w, count=3)
        w.hint("initial")
        w.graph.update_event(w.tenant, w.room, master["id"], showAs="oof", isAllDay=True)
        for occurrence in occurrences:  # Graph reports the occurrences again (their change keys moved)
            w.graph.update_event(w.tenant, w.room, occurrence["id"], showAs="oof", isAllDay=True)
        assert w.hint().status == "synced"
        assert _rows(w) == _truth(w)
        assert {r["show_as"] for r in _rows(w).values()} == {"oof"}


class TestReads:
    def test_one_read_per_master_per_round_with_whitelisted_fields_only(self):
        w = World(page_size=2)  # four occurrences of each series spread over several pages
        _series(w, days=2)
        _series(w, days=3)
        w.hint("initial")
        assert _master_reads(w) == 2
        assert w.graph.selects == [MASTER_SELECT] * 2
        assert not {"subject", "body", "bodyPreview", "onlineMeeting", "onlineMeetingUrl"} & set(MASTER_SELECT)
        w.hint()  # a quiet round: no stubs, no reads
        assert _master_reads(w) == 2

    def test_full_occurrences_need_no_master(self):
        w = World()
        w.graph.stub_occurrences = False
        _series(w)
        w.hint("initial")
        assert _master_reads(w) == 0 and _rows(w) == _truth(w)

    def test_masters_are_read_in_parallel_within_the_mailbox_limit(self):
        graph = _SlowMasters()
        for k in range(6):
            master, _ = make_series(start=_AT + timedelta(days=k), count=1, room="r@contoso.com")
            graph.add_event(TENANT, "r@contoso.com", master)
        stubs = [{"id": f"o{k}", "type": "occurrence", "seriesMasterId": m["id"], "start": m["start"],
                  "end": m["end"]} for k, m in enumerate(graph.mailboxes[(TENANT, "r@contoso.com")].values())]
        graph.add_room(TENANT, "r@contoso.com")
        completed = SeriesMasters(graph, TENANT, "r@contoso.com", concurrency=2).complete(stubs)
        assert 1 < graph.most_in_flight <= 2
        assert [c["id"] for c in completed] == [s["id"] for s in stubs] and not any(map(is_stub, completed))


class TestMastersThatCannotBeRead:
    def test_a_deleted_master_removes_its_occurrences_and_the_round_completes(self):
        w = World()
        master, occurrences = _series(w, count=3)
        w.hint("initial")
        assert len(_rows(w)) == 3
        w.graph.delete_event(w.tenant, w.room, master["id"])  # gone before the occurrences' @removed
        for occurrence in occurrences:
            w.graph.update_event(w.tenant, w.room, occurrence["id"], showAs="free")
        assert w.hint().status == "synced"
        assert _rows(w) == {}

    def test_a_throttled_master_leaves_its_page_unwritten_and_the_delta_link_unmoved(self):
        w = World(page_size=10)
        w.add(hours=2)
        w.hint("initial")
        link = w.state()["delta_link"]
        single = w.add(hours=4)
        _series(w, count=2)
        w.graph.throttle_event_reads(times=1, retry_after=30)
        assert w.hint().status == "backing_off"
        assert w.state()["delta_link"] == link  # not past the occurrences whose master was not read
        assert keys.event_row_key(HASH_KEY, w.room, single) not in _rows(w)  # the page was not written
        w.clock.advance(seconds=31)
        assert w.deliver_queued()[0].status == "synced"  # the back-off's followup round
        assert w.state()["delta_link"] != link and _rows(w) == _truth(w)

    def test_a_throttled_read_is_raised_from_complete(self):
        graph = FakeGraph()
        graph.add_room(TENANT, "r@contoso.com")
        master, _ = make_series(start=_AT, count=1, room="r@contoso.com")
        graph.add_event(TENANT, "r@contoso.com", master)
        graph.throttle(TENANT, "r@contoso.com")
        stub = {"id": "o", "type": "occurrence", "seriesMasterId": master["id"], **{k: master[k] for k in ("start",
                                                                                                         "end")}}
        with pytest.raises(Throttled):
            SeriesMasters(graph, TENANT, "r@contoso.com").complete([stub])


_AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


class _SlowMasters(FakeGraph):
    """Counts how many master reads are in flight at once."""

    def __init__(self):
        super().__init__()
        self._lock, self._in_flight, self.most_in_flight = threading.Lock(), 0, 0

    def get_event(self, tenant, mailbox, event_id, *, select=None):
        with self._lock:
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)
        time.sleep(0.02)  # long enough for the pool's other workers to start
        with self._lock:
            self._in_flight -= 1
        return super().get_event(tenant, mailbox, event_id, select=select)
