"""Table keys and the stored models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared import keys
from shared.errors import InvalidInput
from shared.models import Room, SyncStatus, Tenant, TenantSettings, TenantSettingsUpdate, TenantStatus

TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
NASTY_IDS = ["AAMk/AG#x?y\\z", "a\x00b\x1fc\x7f", "é" * 600, "=="]


class TestKeys:
    @pytest.mark.parametrize("graph_id", NASTY_IDS)
    def test_derived_keys_never_contain_forbidden_characters(self, graph_id):
        """Whatever Graph's id holds, the key is 64 hex characters."""
        for key in (keys.event_row_key("k", "room@contoso.com", graph_id),
                    keys.series_key("k", "room@contoso.com", graph_id)):
            assert len(key) == 64 and set(key) <= set("0123456789abcdef")

    def test_keyed_hash_is_stable_and_depends_on_the_key(self):
        a = keys.event_row_key("key-1", "Room@Contoso.com", "id-1")
        assert a == keys.event_row_key("key-1", "room@contoso.com", "id-1")
        assert a != keys.event_row_key("key-2", "room@contoso.com", "id-1")
        assert a != keys.event_row_key("key-1", "other@contoso.com", "id-1")
        assert a != keys.series_key("key-1", "room@contoso.com", "id-1")

    def test_empty_hash_key_is_a_configuration_hint(self):
        with pytest.raises(InvalidInput) as err:
            keys.event_row_key("", "room@contoso.com", "id")
        assert "ROOMCAL_HASH_KEY" in err.value.fix

    def test_room_partition_is_tenant_and_room(self):
        assert keys.room_partition(TENANT.upper(), " Room1@Contoso.COM ") == f"{TENANT}|room1@contoso.com"

    def test_check_key_rejects_forbidden_characters_and_length(self):
        for bad in ("a/b", "a\\b", "a#b", "a?b", "a\tb", "", "x" * 1025):
            with pytest.raises(InvalidInput):
                keys.check_key(bad)

    def test_inverted_time_keys_sort_newest_first(self):
        now = datetime(2026, 1, 1, tzinfo=UTC)
        older, newer = keys.inverted_time_key(now), keys.inverted_time_key(now + timedelta(microseconds=1))
        assert newer < older and len(newer) == 19
        assert keys.inverted_time_key(now, "ab12").startswith(older)

    def test_inverted_time_key_needs_an_aware_datetime(self):
        with pytest.raises(InvalidInput):
            keys.inverted_time_key(datetime(2026, 1, 1))


class TestEmail:
    def test_normalises_case_and_space(self):
        assert keys.normalise_email("  Conf.Room-1@Contoso.COM ") == "conf.room-1@contoso.com"
        assert keys.normalise_email("o'brien@contoso.com") == "o'brien@contoso.com"

    @pytest.mark.parametrize(("value", "says"), [
        ("", "empty"),
        (None, "empty"),
        ("room.contoso.com", "exactly one '@'"),
        ("a@b@contoso.com", "exactly one '@'"),
        ("room/1@contoso.com", "part before '@'"),
        ("room..1@contoso.com", "double dot"),
        ("room@contoso", "domain after '@'"),
        ("room@-contoso.com", "domain after '@'"),
        ("x" * 65 + "@contoso.com", "too long"),
    ])
    def test_invalid_addresses_say_what_is_wrong(self, value, says):
        with pytest.raises(InvalidInput, match=says):
            keys.normalise_email(value)

    def test_tenant_id_must_be_a_guid(self):
        assert keys.normalise_tenant_id(TENANT.upper()) == TENANT
        with pytest.raises(InvalidInput, match="not a GUID"):
            keys.normalise_tenant_id("contoso.onmicrosoft.com/../x")


class TestTenantSettings:
    def test_defaults(self):
        s = TenantSettings()
        assert sorted(s.office_hours) == ["fri", "mon", "thu", "tue", "wed"]
        assert (s.office_hours["mon"].start.hour, s.office_hours["mon"].end.hour) == (8, 18)
        assert (s.time_zone, s.backfill_days, s.lookahead_days, s.noshow_release) == ("UTC", 180, 365, False)
        assert (s.grace_minutes, s.adhoc_threshold_minutes, s.meetup_minutes) == (10, 15, 10)

    @pytest.mark.parametrize(("fields", "says"), [
        ({"time_zone": "Mars/Olympus"}, "IANA time zone"),
        ({"office_hours": {"mon": {"start": "18:00", "end": "08:00"}}}, "start before they end"),
        ({"office_hours": {"monday": {"start": "08:00", "end": "18:00"}}}, "mon"),
        ({"retention_days": 30}, "at least backfill_days"),
        ({"grace_minutes": 0}, "greater than or equal to 5"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
    ])
    def test_invalid_settings_explain_themselves(self, fields, says):
        with pytest.raises(ValidationError, match=says):
            TenantSettings(**fields)

    def test_update_changes_only_what_is_sent_and_revalidates(self):
        current = TenantSettings()
        updated = TenantSettingsUpdate(noshow_release=True, time_zone="Europe/Amsterdam").apply(current)
        assert updated.noshow_release and updated.time_zone == "Europe/Amsterdam"
        assert updated.office_hours == current.office_hours
        with pytest.raises(ValidationError):
            TenantSettingsUpdate(retention_days=10).apply(current)
        with pytest.raises(ValidationError):
            TenantSettingsUpdate(subject="x")


class TestEntities:
    def test_tenant_round_trips_through_a_flat_entity(self):
        now = datetime(2026, 1, 1, 12, tzinfo=UTC)
        tenant = Tenant(id=TENANT, status=TenantStatus.active, created_at=now, updated_at=now,
                        settings=TenantSettings(noshow_release=True))
        entity = tenant.to_entity()
        assert (entity["PartitionKey"], entity["RowKey"], entity["status"]) == ("tenant", TENANT, "active")
        assert isinstance(entity["settings"], str)
        assert Tenant.from_entity({**entity, "Timestamp": now, "_etag": "W/1"}) == tenant

    def test_room_from_place_and_back(self):
        """Graph's place shape (capacity may be a string, many fields null) becomes a Room."""
        room = Room.from_place(TENANT, {"emailAddress": "Rainier@Contoso.com", "displayName": "Conf Room Rainier",
                                        "capacity": "50", "building": None, "floorNumber": 2})
        assert (room.email, room.capacity, room.floor, room.sync_status) == (
            "rainier@contoso.com", 50, "2", SyncStatus.pending)
        entity = room.to_entity()
        assert (entity["PartitionKey"], entity["RowKey"]) == (TENANT, "rainier@contoso.com")
        assert "building" not in entity and entity["sync_status"] == "pending"
        assert Room.from_entity(entity) == room
        assert Room.from_place(TENANT, {"emailAddress": "r@contoso.com", "capacity": None}).capacity is None

    def test_room_rejects_a_bad_email_with_the_reason(self):
        with pytest.raises(ValidationError, match="exactly one '@'"):
            Room(tenant_id=TENANT, email="not-an-address")
