import pytest

from shared.config import load_settings
from shared.errors import ConfigurationError


class TestSettings:
    def test_defaults_point_at_microsoft(self, monkeypatch):
        """Without overrides the app talks to the real Microsoft endpoints."""
        for var in ("ROOMCAL_GRAPH_BASE_URL", "ROOMCAL_LOGIN_BASE_URL"):
            monkeypatch.delenv(var, raising=False)
        s = load_settings(environment="development")
        assert s.graph_base_url == "https://graph.microsoft.com/v1.0"
        assert s.login_base_url == "https://login.microsoftonline.com"

    def test_reads_environment_with_prefix_and_storage_alias(self, monkeypatch):
        monkeypatch.setenv("ROOMCAL_ENVIRONMENT", "development")
        monkeypatch.setenv("ROOMCAL_GRAPH_BASE_URL", "https://127.0.0.1:8765/v1.0/")
        monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
        s = load_settings()
        assert s.graph_base_url == "https://127.0.0.1:8765/v1.0"
        assert s.storage_connection.get_secret_value() == "UseDevelopmentStorage=true"

    def test_bad_url_names_the_setting(self, monkeypatch):
        monkeypatch.setenv("ROOMCAL_GRAPH_BASE_URL", "graph.example")
        with pytest.raises(ConfigurationError) as err:
            load_settings(environment="development")
        assert "ROOMCAL_GRAPH_BASE_URL" in str(err.value)
        assert "absolute http(s) URL" in str(err.value)

    def test_production_refuses_plain_http_and_placeholder_hash_key(self, monkeypatch):
        monkeypatch.setenv("ROOMCAL_PUBLIC_BASE_URL", "http://roomcal.example")
        monkeypatch.setenv("ROOMCAL_HASH_KEY", "dev-only-not-secret")
        with pytest.raises(ConfigurationError) as err:
            load_settings(environment="production")
        message = str(err.value)
        assert "ROOMCAL_PUBLIC_BASE_URL must use https" in message
        assert "ROOMCAL_HASH_KEY" in message

    def test_secrets_do_not_appear_in_repr(self):
        s = load_settings(environment="development", client_secret="s3cr3t-value", hash_key="k3y-value")
        assert "s3cr3t-value" not in repr(s)
        assert "k3y-value" not in repr(s)

    def test_missing_graph_credentials_are_listed(self, monkeypatch):
        monkeypatch.delenv("ROOMCAL_CLIENT_ID", raising=False)
        monkeypatch.delenv("ROOMCAL_CLIENT_SECRET", raising=False)
        s = load_settings(environment="development")
        assert s.missing_for_graph() == ["ROOMCAL_CLIENT_ID", "ROOMCAL_CLIENT_SECRET"]


def test_the_poison_threshold_setting_matches_host_json():
    """The room-changes handler flags a room on the host's last attempt: both must agree."""
    import json
    from pathlib import Path

    host = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())
    assert load_settings(environment="development").queue_max_dequeue_count == host["extensions"]["queues"][
        "maxDequeueCount"]


def test_timer_schedules_must_be_six_field_ncrontab():
    with pytest.raises(ConfigurationError) as err:
        load_settings(environment="development", catchup_schedule="*/15 * * * *")
    assert "ROOMCAL_CATCHUP_SCHEDULE" in str(err.value)
