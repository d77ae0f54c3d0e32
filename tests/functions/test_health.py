import json

import azure.functions as func
import pytest

from functions import health
from shared import bootstrap
from shared.config import load_settings
from shared.errors import ConfigurationError, Unavailable
from tests.fakes import FakeQueue, InMemoryTables


class BrokenTables(InMemoryTables):
    def ping(self):
        raise Unavailable("table storage unreachable: ServiceRequestError")


def _call():
    """The details (function key): what an operator sees."""
    resp = health.health_details(func.HttpRequest("GET", "/api/health/details", body=b""))
    return resp.status_code, json.loads(resp.get_body())


def _anonymous():
    resp = health.health(func.HttpRequest("GET", "/api/health", body=b""))
    return resp.status_code, json.loads(resp.get_body())


def test_anonymous_health_says_only_healthy_or_unhealthy(use_services):
    use_services(load_settings(environment="development", client_id="app", client_secret="x"), BrokenTables())
    assert _anonymous() == (503, {"status": "unhealthy"})
    use_services(load_settings(environment="development", client_id="app", client_secret="x"), InMemoryTables())
    assert _anonymous() == (200, {"status": "healthy"})


@pytest.fixture
def use_services(monkeypatch):
    def install(settings, tables):
        services = bootstrap.build_services(settings, tables=tables, queues=FakeQueue())
        monkeypatch.setattr(bootstrap, "get_services", lambda: services)
        monkeypatch.setattr(health, "get_settings", lambda: settings)

    return install


def test_healthy_when_storage_answers_and_settings_are_complete(use_services):
    use_services(load_settings(environment="development", client_id="app", client_secret="x"), InMemoryTables())
    status, body = _call()
    assert status == 200
    assert body["status"] == "healthy"
    assert set(body["checks"]) == {"settings", "tables", "queues"}
    assert body["version"]


def test_unreachable_tables_give_503_naming_the_part(use_services):
    use_services(load_settings(environment="development", client_id="app", client_secret="x"), BrokenTables())
    status, body = _call()
    assert status == 503
    assert body["checks"]["tables"] == {"ok": False, "error": "table storage unreachable: ServiceRequestError"}
    assert body["checks"]["queues"]["ok"] is True


def test_missing_graph_credentials_are_named_without_values(use_services):
    settings = load_settings(environment="development", client_id="", client_secret="")
    use_services(settings, InMemoryTables())
    status, body = _call()
    assert status == 503
    assert "ROOMCAL_CLIENT_ID" in body["checks"]["settings"]["error"]


def test_invalid_settings_are_reported_not_raised(monkeypatch):
    def broken():
        raise ConfigurationError("invalid settings: ROOMCAL_GRAPH_BASE_URL: must be an absolute http(s) URL")

    monkeypatch.setattr(bootstrap, "get_services", broken)
    status, body = _call()
    assert status == 503
    assert "ROOMCAL_GRAPH_BASE_URL" in body["checks"]["settings"]["error"]


def test_secrets_never_appear_in_the_report(use_services):
    settings = load_settings(environment="development", client_id="app", client_secret="TOPSECRET-123",
                             hash_key="HASHKEY-456")
    use_services(settings, InMemoryTables())
    _, body = _call()
    text = json.dumps(body)
    assert "TOPSECRET-123" not in text and "HASHKEY-456" not in text
