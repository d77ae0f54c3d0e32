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

from shared.clouds import cloud_problems, graph_scope
from shared.errors import ConfigurationError

MIN_HASH_KEY_BYTES = 32
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
    hash_key_previous: SecretStr = SecretStr("")  # set only during a rotation (docs/key-rotation.md)
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
    # Azure deployment (infra/): identity-based storage (the host's own settings, read by the app too), the app
    # registration's credential, telemetry.
    storage_account_name: str = Field(default="", validation_alias=AliasChoices("AzureWebJobsStorage__accountName"))
    storage_credential: str = Field(default="", validation_alias=AliasChoices("AzureWebJobsStorage__credential"))
    storage_client_id: str = Field(default="", validation_alias=AliasChoices("AzureWebJobsStorage__clientId"))
    client_credential: Literal["auto", "secret", "certificate", "federated_identity"] = "auto"
    client_certificate: SecretStr = SecretStr("")
    managed_identity_client_id: str = ""
    federation_audience: str = "api://AzureADTokenExchange"
    applicationinsights_connection_string: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("APPLICATIONINSIGHTS_CONNECTION_STRING"))
    # Admin sign-in (shared/admin): the key that encrypts session cookies, and how long a session lives.
    session_secret: SecretStr = SecretStr("")
    session_minutes: int = Field(default=60, ge=5, le=720)
    # Occupancy sensors and the no-show release (issue 11)
    occupancy_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    occupancy_max_rows: int = Field(default=20_000, ge=1, le=1_000_000)
    occupancy_sample_hold_minutes: int = Field(default=15, ge=1, le=240)
    occupancy_stale_minutes: int = Field(default=30, ge=5, le=1440)
    noshow_schedule: str = "0 */5 * * * *"
    # Analytics (issue 15): where the room-day aggregates live, and the timer that re-enqueues lost marks
    analytics_container: str = Field(default="analytics", pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    analytics_layout: Literal["parquet", "table"] = "parquet"
    analytics_sweep_schedule: str = "0 */10 * * * *"
    analytics_max_days: int = Field(default=400, ge=1, le=3650)

    @field_validator("graph_base_url", "login_base_url", "public_base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("catchup_schedule", "renew_schedule", "retention_schedule", "analytics_sweep_schedule",
                     "noshow_schedule")
    @classmethod
    def _ncrontab(cls, value: str) -> str:
        if len(value.split()) != 6:
            raise ValueError(f"must be a six-field NCRONTAB expression (seconds first), got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_cloud(self) -> Settings:
        problems = cloud_problems(self.graph_base_url, self.login_base_url,
                                  development=self.environment == "development")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def graph_scope(self) -> str:
        """The token scope for the Graph host configured (national clouds have their own)."""
        return graph_scope(self.graph_base_url)

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        for name in ("graph_base_url", "login_base_url", "public_base_url"):
            if not getattr(self, name).startswith("https://"):
                problems.append(f"ROOMCAL_{name.upper()} must use https in production")
        if not _random_enough(self.hash_key.get_secret_value()):
            problems.append("ROOMCAL_HASH_KEY must be at least 32 random bytes in production (e.g. the output of "
                            "python -c \"import secrets; print(secrets.token_urlsafe(32))\")")
        if len(self.session_secret.get_secret_value()) < 32 or self.session_secret.get_secret_value() in _PLACEHOLDERS:
            problems.append("ROOMCAL_SESSION_SECRET must be a random secret of at least 32 characters in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _key_vault_references_resolved(self) -> Settings:
        """In Azure a secret is an app setting ``@Microsoft.KeyVault(...)``; the platform replaces it with the value.
        If it cannot (role missing, secret absent) the app would see the reference text itself: refuse that."""
        unresolved = [name for name, value in self._setting_values() if value.startswith("@Microsoft.KeyVault(")]
        if unresolved:
            raise ValueError(f"Key Vault reference not resolved for {', '.join(unresolved)}: give the app's "
                             "identity Key Vault Secrets User on the vault and create the secret "
                             "(infra/hooks/postprovision.ps1)")
        return self

    def _setting_values(self):
        for name in type(self).model_fields:
            value = getattr(self, name)
            value = value.get_secret_value() if isinstance(value, SecretStr) else value
            if isinstance(value, str):
                yield f"ROOMCAL_{name.upper()}", value

    def missing_for_graph(self) -> list[str]:
        """Names of settings that must be set before RoomCal can call Microsoft Graph."""
        missing = []
        if not self.client_id:
            missing.append("ROOMCAL_CLIENT_ID")
        kind = self.client_credential
        has_certificate = bool(self.client_certificate.get_secret_value() or self.client_certificate_path)
        needs_secret = kind == "secret" or (kind == "auto" and not has_certificate)
        if kind == "federated_identity" and not self.managed_identity_client_id:
            missing.append("ROOMCAL_MANAGED_IDENTITY_CLIENT_ID")
        elif kind == "certificate" and not has_certificate:
            missing.append("ROOMCAL_CLIENT_CERTIFICATE")
        elif needs_secret and not self.client_secret.get_secret_value():
            missing.append("ROOMCAL_CLIENT_SECRET")
        return missing


def _random_enough(key: str) -> bool:
    """At least 32 bytes and not a placeholder or a repeated pattern (a token_urlsafe(32) has 43
    characters with ~30 distinct ones; a repeated word or one character has very few)."""
    return (key not in _PLACEHOLDERS and len(key.encode("utf-8")) >= MIN_HASH_KEY_BYTES
            and len(set(key)) >= 16)


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
