"""Issue 16 item 6: the small hardening findings, one test each."""

import json
import logging
import secrets

import azure.functions as func
import pytest

from functions import onboarding as onboarding_fn
from functions import rooms as rooms_fn
from shared import bootstrap
from shared.adapters.graph_errors import map_graph_error
from shared.config import load_settings
from shared.errors import ConfigurationError
from shared.models import Room
from shared.onboarding import rooms, tenants
from shared.onboarding.room_import import MAX_ROWS, RoomUpdate, parse_csv
from tests.fakes import FakeQueue, FixedClock, InMemoryTables

TID = "aaaaaaaa-bbbb-cccc-dddd-000000000016"
GOOD_KEY = {"ROOMCAL_PUBLIC_BASE_URL": "https://roomcal.example", "ROOMCAL_GRAPH_BASE_URL": "https://graph.microsoft.com/v1.0",
            "ROOMCAL_LOGIN_BASE_URL": "https://login.microsoftonline.com",
            "ROOMCAL_SESSION_SECRET": "Zr8pQ2mW7vX4kN9bT3yL6cJ1hF5dS0gA"}


@pytest.fixture
def services(monkeypatch):
    built = bootstrap.build_services(load_settings(environment="development"), tables=InMemoryTables(),
                                     queues=FakeQueue(), clock=FixedClock())
    tenants.mark_consented(built.tables, built.clock, TID)
    monkeypatch.setattr(bootstrap, "get_services", lambda: built)
    return built


def _call(fn, body, headers=None):
    req = func.HttpRequest("POST", "/api/x", body=body, route_params={"tenant_id": TID}, headers=headers or {})
    resp = fn(req)
    return resp.status_code, json.loads(resp.get_body())


@pytest.mark.parametrize("fn", [rooms_fn.register_rooms, onboarding_fn.tenant_settings_update])
def test_deeply_nested_json_is_a_400_and_no_traceback_is_logged(services, fn, caplog):
    deep = b"[" * 100_000 + b"]" * 100_000
    with caplog.at_level(logging.DEBUG):
        status, body = _call(fn, deep)
    assert status == 400 and body["error"] == "invalid_input"
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text


def test_csv_import_stops_reading_at_the_row_limit():
    """Rows past the limit are never parsed: an unreadable cell after them does not matter."""
    lines = ["email"] + [f"room{i}@contoso.com" for i in range(MAX_ROWS + 1)] + ['"' + "x" * 200_000]
    good, bad = parse_csv("\n".join(lines))
    assert good == [] and f"at most {MAX_ROWS}" in json.dumps(bad)


@pytest.mark.parametrize("key", ["", "short-key", "a" * 64, "abcd" * 16])
def test_production_needs_a_hash_key_of_at_least_32_random_bytes(monkeypatch, key):
    for name, value in {**GOOD_KEY, "ROOMCAL_HASH_KEY": key}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as err:
        load_settings(environment="production")
    assert "ROOMCAL_HASH_KEY" in str(err.value)
    assert not key or key not in str(err.value)


def test_a_generated_hash_key_is_accepted_in_production(monkeypatch):
    for name, value in {**GOOD_KEY, "ROOMCAL_HASH_KEY": secrets.token_urlsafe(32)}.items():
        monkeypatch.setenv(name, value)
    assert load_settings(environment="production").environment == "production"


def test_the_azure_sdk_per_request_logging_is_turned_down(caplog):
    """The Functions host's worker logs at INFO: the SDK would log every storage request's headers."""
    logger = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    logger.setLevel(logging.NOTSET)
    with caplog.at_level(logging.INFO):
        bootstrap.build_services(load_settings(environment="development"), tables=InMemoryTables(),
                                 queues=FakeQueue())
        assert not logger.isEnabledFor(logging.INFO) and logger.isEnabledFor(logging.WARNING)


def test_graphs_free_text_message_never_reaches_an_error_body():
    body = {"error": {"code": "ErrorItemNotFound", "message": "The mailbox of ann@contoso.com said: secret",
                      "innerError": {"request-id": "r-1", "client-request-id": "c-1"}}}
    for status in (400, 403, 404, 409, 429, 500):
        error = map_graph_error(status, body, {"Retry-After": "1"}, mailbox="room@contoso.com")
        text = json.dumps(error.to_dict())
        assert "secret" not in text and "ann@contoso.com" not in text
        assert error.detail["request_id"] == "r-1" and error.detail["code"] == "ErrorItemNotFound"


class RacingTables(InMemoryTables):
    """Between a caller's read of one row and its write, another writer merges a field once."""

    def __init__(self, table, key, fields):
        super().__init__()
        self.race = (table, key, fields)

    def get(self, table, partition_key, row_key):
        row = super().get(table, partition_key, row_key)
        if self.race and (table, (partition_key, row_key)) == self.race[:2]:
            _, key, fields = self.race
            self.race = None
            self.merge(table, {"PartitionKey": key[0], "RowKey": key[1], **fields})
        return row


def test_a_room_update_never_overwrites_the_sync_status_written_meanwhile():
    tables = RacingTables("Rooms", (TID, "room@contoso.com"), {"sync_status": "synced", "delta_link": "d1"})
    clock = FixedClock()
    tenants.mark_consented(tables, clock, TID)
    rooms.change(tables, TID, "room@contoso.com", lambda _: Room(tenant_id=TID, email="room@contoso.com"))
    tables.race = ("Rooms", (TID, "room@contoso.com"), {"sync_status": "synced", "delta_link": "d1"})
    rooms.update(tables, clock, TID, "room@contoso.com", RoomUpdate(capacity=8), actor="fm")
    row = tables.get("Rooms", TID, "room@contoso.com")
    assert (row["capacity"], row["sync_status"], row["delta_link"]) == (8, "synced", "d1")


def test_a_settings_change_never_overwrites_a_status_written_meanwhile():
    tables = RacingTables("Tenants", ("tenant", TID), {"status": "offboarding"})
    clock = FixedClock()
    tables.race = None
    tenants.mark_consented(tables, clock, TID)
    tables.race = ("Tenants", ("tenant", TID), {"reason": "consent revoked"})
    from shared.models import TenantSettingsUpdate
    tenants.update_settings(tables, clock, TID, TenantSettingsUpdate(backfill_days=10), actor="fm")
    row = tables.get("Tenants", "tenant", TID)
    assert row["reason"] == "consent revoked" and json.loads(row["settings"])["backfill_days"] == 10
