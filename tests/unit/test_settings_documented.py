"""Every setting the app reads is in local.settings.sample.json and in the README's settings table."""

import json
import re
from pathlib import Path

import pytest

from shared.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEVHOST_SETTINGS = ["DEVHOST_MASTER_KEY", "DEVHOST_FUNCTION_KEY"]


def setting_names() -> list[str]:
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.append(alias.choices[0] if alias is not None else f"ROOMCAL_{name.upper()}")
    return names + DEVHOST_SETTINGS


def readme_settings() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Za-z_]+)` \|", section, re.M))


def sample_values() -> dict:
    return json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]


@pytest.mark.parametrize("name", setting_names())
def test_each_setting_is_in_the_sample_file(name):
    assert name in sample_values(), f"add {name} to local.settings.sample.json"


@pytest.mark.parametrize("name", setting_names())
def test_each_setting_is_in_the_readme_table(name):
    assert name in readme_settings(), f"add a row for {name} to the README's settings table"


def test_nothing_documented_that_the_app_does_not_read():
    assert readme_settings() - set(setting_names()) == set()
    ignored = {"FUNCTIONS_WORKER_RUNTIME"}
    per_function_keys = {n for n in sample_values() if n.startswith("DEVHOST_FUNCTION_KEY__")}  # one README row
    assert set(sample_values()) - set(setting_names()) - ignored - per_function_keys == set()


def test_the_sample_values_are_valid_settings(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("ROOMCAL_") or key == "AzureWebJobsStorage":
            monkeypatch.delenv(key)
    for key, value in sample_values().items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.missing_for_graph() == []
