"""Wiring of the Graph adapters in the composition root."""

from __future__ import annotations

import pytest

from shared import bootstrap
from shared.adapters.entra import TokenProvider
from shared.adapters.graph import GraphClient
from shared.config import load_settings
from shared.errors import ConfigurationError
from tests.fakes import FakeGraph, FakeQueue, InMemoryTables


def build(**settings):
    return bootstrap.build_services(load_settings(environment="development", **settings),
                                    tables=InMemoryTables(), queues=FakeQueue())


def test_graph_is_built_lazily_from_credentials_without_network(monkeypatch):
    """With client id and secret, Services gets a GraphClient and a TokenProvider; nothing is called yet."""
    monkeypatch.delenv("ROOMCAL_CLIENT_CERTIFICATE_PATH", raising=False)
    services = build(client_id="app", client_secret="secret")
    assert isinstance(services.graph, GraphClient) and isinstance(services.tokens, TokenProvider)
    assert services.require_graph() is services.graph


def test_without_credentials_graph_use_names_the_missing_settings(monkeypatch):
    for var in ("ROOMCAL_CLIENT_ID", "ROOMCAL_CLIENT_SECRET", "ROOMCAL_CLIENT_CERTIFICATE_PATH"):
        monkeypatch.delenv(var, raising=False)
    services = build()
    with pytest.raises(ConfigurationError, match="ROOMCAL_CLIENT_ID, ROOMCAL_CLIENT_SECRET"):
        services.require_graph()


def test_a_fake_graph_can_be_injected():
    fake = FakeGraph()
    services = bootstrap.build_services(load_settings(environment="development"), tables=InMemoryTables(),
                                        queues=FakeQueue(), graph=fake)
    assert services.require_graph() is fake
