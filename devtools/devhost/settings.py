"""App settings: local.settings.json ``Values`` into os.environ, and connection lookup.

Precedence is Core Tools': a variable already set (non-empty) in the process environment
wins, and the file's value is skipped with a notice (Core Tools: "Skipping 'X' from local
settings as it's already defined in current environment variables."). An empty variable is
overwritten, as Core Tools' ``string.IsNullOrEmpty`` check does.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

AZURITE_DEFAULT = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


class SettingsError(ValueError):
    """local.settings.json is missing, malformed, or a needed setting is absent."""


@dataclass
class LocalSettings:
    path: Path
    values: dict[str, str]
    host: dict = field(default_factory=dict)


def find_settings_file(app_dir: Path, explicit: Path | None = None) -> Path:
    if explicit is not None:
        if not Path(explicit).is_file():
            raise SettingsError(f"settings file {explicit} not found")
        return Path(explicit)
    for name in ("local.settings.json", "local.settings.sample.json"):
        candidate = Path(app_dir) / name
        if candidate.is_file():
            return candidate
    raise SettingsError(f"neither local.settings.json nor local.settings.sample.json found in {app_dir}: "
                        "copy local.settings.sample.json to local.settings.json")


def read_settings(path: Path) -> LocalSettings:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must contain a JSON object with a \"Values\" object")
    if data.get("IsEncrypted"):
        raise SettingsError(f"{path} has IsEncrypted: true; the dev host reads plain values only "
                            "(decrypt with `func settings decrypt` or set IsEncrypted to false)")
    raw = data.get("Values", {})
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: \"Values\" must be an object of setting name to string")
    values: dict[str, str] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            raise SettingsError(f"{path}: setting {name!r} must be a string, not {type(value).__name__}")
        values[name] = str(value).lower() if isinstance(value, bool) else str(value)
    host = data.get("Host") or {}
    return LocalSettings(Path(path), values, host if isinstance(host, dict) else {})


def apply_settings(values: Mapping[str, str], environ: MutableMapping[str, str] | None = None,
                   setter: Callable[[str, str], None] | None = None) -> list[str]:
    """Copy values into the environment unless already set (non-empty) there; return the skipped names."""
    env = os.environ if environ is None else environ
    put = setter or env.__setitem__
    skipped = []
    for name, value in values.items():
        if env.get(name):
            skipped.append(name)
        else:
            put(name, value)
    return skipped


class EnvironmentScope:
    """Sets os.environ variables and puts the previous values back on ``restore()`` (in-process hosts)."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


def load_into_environment(values: Mapping[str, str], overrides: Mapping[str, str],
                          scope: EnvironmentScope) -> list[str]:
    """Overrides (in-process callers) first, AZURE_FUNCTIONS_ENVIRONMENT=Development unless set (as Core Tools
    does), then the file's values where the environment has none; returns the names skipped."""
    for name, value in overrides.items():
        scope.set(name, value)
    if not os.environ.get("AZURE_FUNCTIONS_ENVIRONMENT"):
        scope.set("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
    return apply_settings(values, os.environ, scope.set)


def connection_setting_name(connection: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The app setting a binding's ``connection`` names: exact match first, then with the
    ``AzureWebJobs`` prefix; empty means ``AzureWebJobsStorage``."""
    env = os.environ if environ is None else environ
    if not connection:
        return "AzureWebJobsStorage"
    if connection in env:
        return connection
    prefixed = f"AzureWebJobs{connection}"
    if prefixed in env:
        return prefixed
    return connection


def storage_connection_string(connection: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    name = connection_setting_name(connection, env)
    value = env.get(name, "")
    if not value:
        if env.get(f"{name}__queueServiceUri") or env.get(f"{name}__accountName") or env.get(f"{name}__serviceUri"):
            raise SettingsError(f"setting {name!r}: identity-based connections need a managed identity, which "
                                "the dev host does not have; set a connection string instead")
        raise SettingsError(f"storage connection setting {name!r} (binding connection {connection!r}) is not set: "
                            "set it in local.settings.json (UseDevelopmentStorage=true for Azurite)")
    if value.strip().rstrip(";").lower() == "usedevelopmentstorage=true":
        return AZURITE_DEFAULT
    return value


_REFERENCE = re.compile(r"%([^%]+)%")


def resolve_setting_references(text: str, settings: Mapping[str, str] | None = None) -> str:
    """Replace every ``%NAME%`` with the app setting NAME (the host's name resolver)."""
    source = os.environ if settings is None else settings

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in source:
            raise SettingsError(f"app setting {name!r} used in {text!r} is not set")
        return source[name]

    return _REFERENCE.sub(value, text)


def is_disabled(function_name: str, environ: Mapping[str, str] | None = None) -> bool:
    """The host's ``AzureWebJobs.<FUNCTION_NAME>.Disabled`` app setting (docs: disable-function.md)."""
    environ = os.environ if environ is None else environ
    value = environ.get(f"AzureWebJobs.{function_name}.Disabled", "")
    return value.strip().lower() in ("true", "1")
