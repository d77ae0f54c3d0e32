"""Both aggregate layouts keep exactly what they were given, and partial updates replace only their rooms."""

from datetime import date

import polars as pl
import pytest

from shared.analytics import frames
from shared.analytics.room_day import Group, RoomDay
from shared.analytics.store import MemoryBlobs, PackedTableAggregateStore, ParquetAggregateStore
from tests.fakes import InMemoryTables

T = "7f000000-0000-0000-0000-000000000001"


def _day(room: str, day: int, booked: int) -> RoomDay:
    return RoomDay(room=room, day=date(2026, 3, day), available_seconds=36000, booked_seconds=booked, meetings=2,
                   ad_hoc_meetings=1, lead_buckets=(1, 0, 0, 1, 0), sizes=(2, 5), organisers=(11, 2**63 + 5),
                   hour_available=(0,) * 8 + (3600,) * 10 + (0,) * 6, hour_booked=(0,) * 9 + (booked,) + (0,) * 14,
                   groups=(Group("contoso.com", "", 2, booked),))


@pytest.fixture(params=["parquet", "table"])
def store(request):
    return ParquetAggregateStore(MemoryBlobs()) if request.param == "parquet" else \
        PackedTableAggregateStore(InMemoryTables())


def test_round_trip_and_partial_replace(store):
    month = [_day(r, d, 600 * d) for r in ("a@x.com", "b@x.com") for d in (1, 2, 31)]
    store.write_month(T, "bookings", "2026-03", frames.to_frame(month))
    assert frames.from_frame(store.read(T, "bookings", ["2026-03"])) == sorted(month, key=lambda x: (x.room, x.day))
    store.replace_rooms(T, "bookings", "2026-03", ["b@x.com"], frames.to_frame([_day("b@x.com", 2, 60)]))
    got = frames.from_frame(store.read(T, "bookings", ["2026-03", "2026-04"]))
    assert [(x.room, x.day.day, x.booked_seconds) for x in got] == [
        ("a@x.com", 1, 600), ("a@x.com", 2, 1200), ("a@x.com", 31, 18600), ("b@x.com", 2, 60)]
    assert store.months(T, "bookings") == ["2026-03"]
    store.delete_tenant(T)
    assert store.read(T, "bookings", ["2026-03"]).height == 0


def test_parquet_partial_replace_merges_a_concurrent_write():
    blobs = MemoryBlobs()
    store = ParquetAggregateStore(blobs)
    store.write_month(T, "bookings", "2026-03", frames.to_frame([_day("a@x.com", 1, 60)]))
    real_put = blobs.put
    raced = []

    def put_after_a_rival(name, data, **kw):
        if not raced:  # another worker rewrites the month between our read and our write
            raced.append(1)
            real_put(name, store_bytes(frames.to_frame([_day("a@x.com", 1, 60), _day("c@x.com", 1, 120)])))
        return real_put(name, data, **kw)

    def store_bytes(frame: pl.DataFrame) -> bytes:
        from shared.analytics.store import _parquet
        return _parquet(frame)

    blobs.put = put_after_a_rival
    store.replace_rooms(T, "bookings", "2026-03", ["b@x.com"], frames.to_frame([_day("b@x.com", 1, 90)]))
    assert sorted(store.read(T, "bookings", ["2026-03"])["room"].to_list()) == ["a@x.com", "b@x.com", "c@x.com"]


def test_a_sibling_dataset_keyed_the_same_way_is_stored_beside_bookings(store):
    frames.register("occupancy", {"room": pl.String, "day": pl.Date, "occupied_seconds": pl.Int32})
    sensors = pl.DataFrame({"room": ["a@x.com"], "day": [date(2026, 3, 1)], "occupied_seconds": [1200]})
    store.write_month(T, "occupancy", "2026-03", sensors)
    store.write_month(T, "bookings", "2026-03", frames.to_frame([_day("a@x.com", 1, 600)]))
    joined = store.read(T, "bookings", ["2026-03"]).join(store.read(T, "occupancy", ["2026-03"]), on=["room", "day"])
    assert joined.select("booked_seconds", "occupied_seconds").rows() == [(600, 1200)]
