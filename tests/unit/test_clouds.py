"""The Graph token scope follows the Graph base URL; hosts that are not Microsoft Graph are refused
(national-cloud endpoints: https://learn.microsoft.com/graph/deployments)."""

import pytest

from shared.config import load_settings
from shared.errors import ConfigurationError

PROD = {"environment": "production", "hash_key": "Kq3v9ZtL0pW2xR7mN4bY8cJ1fH6dS5gA",
        "session_secret": "Zr8pQ2mW7vX4kN9bT3yL6cJ1hF5dS0gA", "public_base_url": "https://roomcal.example"}


@pytest.mark.parametrize(("graph", "login"), [
    ("https://graph.microsoft.com/v1.0", "https://login.microsoftonline.com"),
    ("https://graph.microsoft.us/v1.0", "https://login.microsoftonline.us"),
    ("https://dod-graph.microsoft.us/v1.0", "https://login.microsoftonline.us"),
    ("https://microsoftgraph.chinacloudapi.cn/v1.0", "https://login.chinacloudapi.cn"),
])
def test_each_national_cloud_gets_a_token_for_its_own_graph_host(graph, login):
    settings = load_settings(**PROD, graph_base_url=graph, login_base_url=login)
    assert settings.graph_scope == f"https://{graph.split('/')[2]}/.default"


def test_a_host_that_is_not_microsoft_graph_is_refused_with_the_known_hosts():
    with pytest.raises(ConfigurationError, match=r"is not Microsoft Graph.*graph\.microsoft\.us"):
        load_settings(**PROD, graph_base_url="https://graph.example.com/v1.0")


def test_a_sign_in_host_of_another_cloud_is_refused_in_production():
    with pytest.raises(ConfigurationError, match=r"login\.microsoftonline\.us"):
        load_settings(**PROD, graph_base_url="https://graph.microsoft.us/v1.0",
                      login_base_url="https://login.microsoftonline.com")


def test_the_emulator_works_in_development_only():
    local = {"graph_base_url": "https://127.0.0.1:8765/v1.0", "login_base_url": "https://127.0.0.1:8765"}
    assert load_settings(environment="development", **local).graph_scope == "https://graph.microsoft.com/.default"
    with pytest.raises(ConfigurationError, match="only with ROOMCAL_ENVIRONMENT=development"):
        load_settings(**PROD, **local)
