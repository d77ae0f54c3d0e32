"""Events rows are bounded, and a row the store refuses is written reduced instead of failing the page."""

from datetime import UTC, datetime, timedelta

from shared import keys
from shared.errors import EntityRefused
from shared.sync import row_bounds
from shared.sync.event_rows import EVENTS, EventRows, PageTotals
from shared.sync.privacy import normalise_event
from tests.fakes import FixedClock, InMemoryTables, make_graph_event

TENANT = "6f1c3c1e-0000-4000-8000-000000000001"
ROOM = "room@contoso.com"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _event(**fields):
    return make_graph_event(start=START, end=START + timedelta(hours=1), room=ROOM, **fields)


def test_a_town_hall_keeps_its_counts_rooms_first_and_only_the_first_attendees():
    people = tuple(f"p{i}@contoso.com" for i in range(400))
    event = normalise_event(_event(attendees=people), tenant_id=TENANT, room_email=ROOM, hash_key="k")
    assert (event.attendee_count, event.people_count) == (401, 400)
    assert len(event.attendees) == row_bounds.MAX_ATTENDEES
    assert event.attendees[0].address == ROOM
    assert event.room_response == "accepted"


def test_long_texts_are_cut():
    raw = _event(sensitivity="y" * 5000, originalStartTimeZone="z" * 5000)
    event = normalise_event(raw, tenant_id=TENANT, room_email=ROOM, hash_key="k")
    assert len(event.sensitivity) == len(event.start_time_zone) == row_bounds.MAX_TEXT


def test_entity_size_follows_the_table_storage_formula():
    entity = {"PartitionKey": "ab", "RowKey": "c", "n": 1, "s": "xyz", "_etag": "ignored"}
    assert row_bounds.entity_bytes(entity) == 4 + 4 + 2 + (8 + 2 + 8) + (8 + 2 + 4 + 6)


class RefusingTables(InMemoryTables):
    """Refuses any batch holding a row with attendees over a size, and such a row alone."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit

    def _too_big(self, entity):
        return len(entity.get("attendees", "")) > self.limit

    def upsert(self, table, entity):
        if self._too_big(entity):
            raise EntityRefused("refused", detail={"code": "EntityTooLarge"})
        super().upsert(table, entity)

    def upsert_many(self, table, entities):
        entities = list(entities)
        if any(self._too_big(e) for e in entities):
            raise EntityRefused("refused", detail={"code": "EntityTooLarge"})
        super().upsert_many(table, entities)


def test_a_refused_row_is_written_reduced_and_the_rest_of_the_page_as_it_is(caplog):
    tables, totals = RefusingTables(limit=200), PageTotals()
    big = _event(attendees=tuple(f"p{i}@contoso.com" for i in range(20)), subject="Secret")
    small = _event()
    EventRows(tables, FixedClock(START), hash_key="k").write_page(TENANT, ROOM, [big, small], "g1", totals)
    partition = keys.room_partition(TENANT, ROOM)
    stored = tables.get(EVENTS, partition, keys.event_row_key("k", ROOM, big["id"]))
    assert stored["reduced"] is True and "attendees" not in stored and stored["people_count"] == 20
    assert "attendees" in tables.get(EVENTS, partition, keys.event_row_key("k", ROOM, small["id"]))
    assert (totals.upserted, totals.reduced) == (2, 1)
    assert "p1@contoso.com" not in caplog.text and "Secret" not in caplog.text
