"""The room registry: register (JSON, CSV), import from /places, update, remove, list with reasons."""

import pytest

from shared.errors import InvalidInput, NotFound
from shared.onboarding import rooms, tenants
from tests.fakes import FixedClock, InMemoryTables

TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
OTHER = "aaaaaaaa-bbbb-cccc-dddd-000000000002"


class PlacesOnly:
    """Just enough Graph for an import: list_rooms per tenant."""

    def __init__(self, places):
        self.places = places

    def list_rooms(self, tenant):
        yield from self.places.get(tenant, [])


@pytest.fixture
def world():
    tables, clock = InMemoryTables(), FixedClock()
    tenants.mark_consented(tables, clock, TID)
    tenants.mark_consented(tables, clock, OTHER)
    return tables, clock


class TestRegister:
    def test_good_rows_are_kept_and_bad_rows_reported_per_row(self, world):
        tables, clock = world
        result = rooms.register(tables, clock, TID, actor="fm", rows=[
            {"email": " Room1@Contoso.com ", "capacity": 8, "sensor_id": "s-1", "time_zone": "Europe/Amsterdam"},
            {"email": "not-an-address"},
            {"email": "room2@contoso.com", "capacity": -1},
            {"email": "room1@contoso.com"},
            {"email": "room3@contoso.com", "colour": "red"},
            "room4@contoso.com",
        ])
        assert result["added"] == ["room1@contoso.com"]
        assert [e["row"] for e in result["errors"]] == [2, 3, 4, 5, 6]
        assert "capacity" in result["errors"][1]["errors"]
        assert "twice" in result["errors"][2]["errors"]["email"]
        room = rooms.load(tables, TID, "ROOM1@contoso.com")
        assert (room.capacity, room.sensor_id, room.time_zone, room.sync_status) == (8, "s-1", "Europe/Amsterdam",
                                                                                     "pending")

    def test_all_rows_bad_is_an_error_listing_them(self, world):
        with pytest.raises(InvalidInput) as err:
            rooms.register(*world, TID, actor="fm", rows=[{"email": "x"}, {"email": "room@contoso.com",
                                                                            "time_zone": "Mars/Olympus"}])
        assert len(err.value.detail["errors"]) == 2

    def test_csv_import_reports_line_numbers(self, world):
        tables, clock = world
        text = ("\ufeffEmail,display_name,capacity,building,floor\n"
                "room1@contoso.com,Rainier,10,HQ,2\n"
                "broken,,,,\n"
                "room2@contoso.com,,abc,,\n"
                "room3@contoso.com,Baker,,,,extra\n")
        result = rooms.register(tables, clock, TID, actor="fm", csv_text=text)
        assert result["added"] == ["room1@contoso.com"]
        assert [e["row"] for e in result["errors"]] == [3, 4, 5]
        assert rooms.load(tables, TID, "room1@contoso.com").floor == "2"

    def test_csv_with_a_cell_over_the_csv_field_limit_is_a_clear_400(self, world):
        """A 200 kB cell (body limit is 2 MiB) made csv raise _csv.Error: a 500, not a row error."""
        text = "email,building\nroom1@contoso.com," + "x" * 200_000 + "\n"
        with pytest.raises(InvalidInput) as err:
            rooms.register(*world, TID, actor="fm", csv_text=text)
        assert "line 2" in str(err.value.detail["errors"])

    @pytest.mark.parametrize("text", ["", "name,capacity\nx,1\n", "email,colour\na@b.com,red\n"])
    def test_csv_without_a_usable_header_is_refused(self, world, text):
        with pytest.raises(InvalidInput):
            rooms.register(*world, TID, actor="fm", csv_text=text)

    def test_registering_again_updates_but_keeps_sync_state(self, world):
        tables, clock = world
        rooms.register(tables, clock, TID, actor="fm", rows=[{"email": "room1@contoso.com"}])
        rooms.change(tables, TID, "room1@contoso.com", lambda r: r.model_copy(update={"sync_status": "synced"}))
        result = rooms.register(tables, clock, TID, actor="fm", rows=[{"email": "room1@contoso.com", "capacity": 4}])
        assert result["updated"] == ["room1@contoso.com"]
        room = rooms.load(tables, TID, "room1@contoso.com")
        assert room.sync_status == "synced" and room.capacity == 4

    def test_unknown_tenant_is_not_found(self, world):
        with pytest.raises(NotFound):
            rooms.register(*world, "aaaaaaaa-bbbb-cccc-dddd-00000000000f", actor="fm", rows=[{"email": "r@c.com"}])


def test_import_from_places_takes_capacity_building_floor(world):
    tables, clock = world
    graph = PlacesOnly({TID: [
        {"emailAddress": "Rainier@contoso.com", "displayName": "Rainier", "capacity": "50", "building": "B2",
         "floorNumber": 3},
        {"emailAddress": "Baker@contoso.com", "displayName": "Baker", "capacity": None, "building": None},
        {"emailAddress": None, "displayName": "No mailbox"},
    ], OTHER: [{"emailAddress": "other@fabrikam.com"}]})
    result = rooms.import_from_places(tables, clock, graph, TID, actor="fm")
    assert sorted(result["added"]) == ["baker@contoso.com", "rainier@contoso.com"] and result["skipped"] == 1
    rainier = rooms.load(tables, TID, "rainier@contoso.com")
    assert (rainier.capacity, rainier.building, rainier.floor) == (50, "B2", "3")
    assert [r["email"] for r in rooms.listing(tables, OTHER)["rooms"]] == []


def test_update_and_remove(world):
    tables, clock = world
    rooms.register(tables, clock, TID, actor="fm", rows=[{"email": "room1@contoso.com", "sensor_id": "s1"}])
    tables.upsert("Events", {"PartitionKey": f"{TID}|room1@contoso.com", "RowKey": "h1"})
    tables.upsert("RoomSync", {"PartitionKey": TID, "RowKey": "room1@contoso.com"})
    tables.upsert("Subscriptions", {"PartitionKey": "sub", "RowKey": "s1", "tenant_id": TID,
                                    "room_email": "room1@contoso.com"})
    tables.upsert("Subscriptions", {"PartitionKey": "sub", "RowKey": "s2", "tenant_id": OTHER,
                                    "room_email": "room1@contoso.com"})
    body = rooms.update(tables, clock, TID, "room1@contoso.com",
                        rooms.RoomUpdate(sensor_id=None, time_zone="Europe/London"), actor="fm")
    assert body["sensor_id"] is None and body["time_zone"] == "Europe/London"
    rooms.remove(tables, clock, None, TID, "room1@contoso.com", actor="fm")
    assert not tables.rows["Rooms"] and not tables.rows["Events"] and not tables.rows["RoomSync"]
    assert list(tables.rows["Subscriptions"]) == [("sub", "s2")]
    with pytest.raises(NotFound):
        rooms.load(tables, TID, "room1@contoso.com")


def test_listing_is_per_tenant_and_counts_statuses(world):
    tables, clock = world
    rooms.register(tables, clock, TID, actor="fm", rows=[{"email": "a@contoso.com"}, {"email": "b@contoso.com"}])
    rooms.register(tables, clock, OTHER, actor="fm", rows=[{"email": "x@fabrikam.com"}])
    listing = rooms.listing(tables, TID)
    assert [r["email"] for r in listing["rooms"]] == ["a@contoso.com", "b@contoso.com"]
    assert listing["counts"] == {"synced": 0, "not_synced": 0, "pending": 2}
    assert "Continue setup" in listing["rooms"][0]["fix"]
