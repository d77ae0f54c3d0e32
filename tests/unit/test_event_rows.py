from datetime import timedelta

from shared import keys
from shared.sync.event_rows import EVENTS, EventRows, PageTotals
from tests.fakes import FixedClock, InMemoryTables, make_graph_event

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
ROOM = "room-a@contoso.com"


def _rows(tables):
    return {r["RowKey"]: r for r in tables.query(EVENTS, keys.room_partition(TENANT, ROOM))}


def _event(clock, event_id, **fields):
    start = clock.now() + timedelta(hours=1)
    return make_graph_event(start=start, end=start + timedelta(hours=1), event_id=event_id, room=ROOM, **fields)


def test_within_a_page_the_last_occurrence_of_an_event_wins():
    """Graph may list one event twice in a response (delta 'duplicates'); a removal after it wins too."""
    tables, clock = InMemoryTables(), FixedClock()
    rows, totals = EventRows(tables, clock, hash_key="k"), PageTotals()
    rows.write_page(TENANT, ROOM, [_event(clock, "A", showAs="busy"), _event(clock, "A", showAs="tentative"),
                                   _event(clock, "B"), {"id": "B", "@removed": {"reason": "deleted"}}],
                    "g1", totals)
    stored = _rows(tables)
    assert list(stored) == [keys.event_row_key("k", ROOM, "A")]
    assert stored[keys.event_row_key("k", ROOM, "A")]["show_as"] == "tentative"
    assert (totals.upserted, totals.removed) == (1, 1)


def test_items_without_an_id_or_a_usable_time_are_skipped_not_fatal():
    tables, clock = InMemoryTables(), FixedClock()
    totals = PageTotals()
    broken = _event(clock, "C")
    broken["start"] = {"timeZone": "UTC"}
    EventRows(tables, clock, hash_key="k").write_page(TENANT, ROOM, [{"subject": "x"}, broken, _event(clock, "D")],
                                                      "g1", totals)
    assert totals.skipped == 2 and len(_rows(tables)) == 1


def test_the_sweep_deletes_unseen_rows_inside_the_window_and_counts_what_stays():
    tables, clock = InMemoryTables(), FixedClock()
    rows = EventRows(tables, clock, hash_key="k")
    rows.write_page(TENANT, ROOM, [_event(clock, "old-gen")], "g1", PageTotals())
    rows.write_page(TENANT, ROOM, [_event(clock, "new-gen")], "g2", PageTotals())
    kept = rows.sweep(TENANT, ROOM, "g2", clock.now() - timedelta(days=1), clock.now() + timedelta(days=1))
    assert kept == 1 and list(_rows(tables)) == [keys.event_row_key("k", ROOM, "new-gen")]
