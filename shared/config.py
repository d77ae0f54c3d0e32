"""One Settings object, read from the environment once and cached.

The Functions host (and devtools/devhost) turns local.settings.json's ``Values`` into
environment variables; in Azure they are app settings. Every field here is documented in
local.settings.sample.json and the README's settings table.
"""

from __future__ import annotations

import functools
from typing import Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigurationError

_PLACEHOLDERS = {"", "changeme", "change-me", "replace-me", "dev-only-not-secret"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROOMCAL_", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "production"
    storage_connection: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("AzureWebJobsStorage", "ROOMCAL_STORAGE_CONNECTION"),
    )
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    login_base_url: str = "https://login.microsoftonline.com"
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    ca_bundle: str = ""
    public_base_url: str = "http://127.0.0.1:7071"
    # Sync engine. Timer schedules are read by the Functions host itself (%ROOMCAL_..._SCHEDULE%,
    # six-field NCRONTAB, UTC); the fields here document their defaults and are checked.
    catchup_schedule: str = "0 */15 * * * *"
    renew_schedule: str = "0 7 * * * *"
    retention_schedule: str = "0 30 2 * * *"
    catchup_min_age_minutes: int = Field(default=0, ge=0, le=10080)
    sync_lease_seconds: float = Field(default=120.0, ge=10, le=600)
    sync_max_rounds: int = Field(default=5, ge=1, le=100)
    queue_max_dequeue_count: int = Field(default=5, ge=1, le=100)
    subscription_lifetime_minutes: int = Field(default=10080, ge=45, le=10080)
    subscription_renew_within_minutes: int = Field(default=4320, ge=60, le=10080)
    subscription_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    sync_window_roll_days: int = Field(default=7, ge=1, le=365)
    sync_max_pages_per_round: int = Field(default=50, ge=1, le=100_000)
    hash_key: SecretStr = SecretStr("")
    # The function keys Graph's POSTs carry (?code=) to /api/notifications and /api/lifecycle (webhook_urls.py).
    notifications_key: SecretStr = SecretStr("")
    lifecycle_key: SecretStr = SecretStr("")
    http_timeout_seconds: float = Field(default=30.0, gt=0, le=230)
    consent_state_minutes: int = Field(default=30, ge=5, le=1440)
    http_pool_size: int = Field(default=32, ge=1, le=512)
    client_certificate_path: str = ""
    graph_max_wait_seconds: float = Field(default=60.0, ge=0, le=600)
    graph_max_retries: int = Field(default=4, ge=0, le=10)
    graph_page_size: int = Field(default=100, ge=1, le=1000)
    graph_mailbox_concurrency: int = Field(default=4, ge=1, le=4)

    @field_validator("graph_base_url", "login_base_url", "public_base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("catchup_schedule", "renew_schedule", "retention_schedule")
    @classmethod
    def _ncrontab(cls, value: str) -> str:
        if len(value.split()) != 6:
            raise ValueError(f"must be a six-field NCRONTAB expression (seconds first), got {value!r}")
        return value

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        for name in ("graph_base_url", "login_base_url", "public_base_url"):
            if not getattr(self, name).startswith("https://"):
                problems.append(f"ROOMCAL_{name.upper()} must use https in production")
        if self.hash_key.get_secret_value() in _PLACEHOLDERS:
            problems.append("ROOMCAL_HASH_KEY must be set to a random secret in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def missing_for_graph(self) -> list[str]:
        """Names of settings that must be set before RoomCal can call Microsoft Graph."""
        missing = []
        if not self.client_id:
            missing.append("ROOMCAL_CLIENT_ID")
        if not self.client_secret.get_secret_value() and not self.client_certificate_path:
            missing.append("ROOMCAL_CLIENT_SECRET")
        return missing


def load_settings(**overrides) -> Settings:
    """Build Settings, turning pydantic's error into one that names each bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        name = where if where == "settings" else f"ROOMCAL_{where.upper()}"
        parts.append(f"{name}: {err['msg']}")
    return "invalid settings: " + "; ".join(parts)


@functools.cache
def get_settings() -> Settings:
    return load_settings()
