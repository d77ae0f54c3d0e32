"""The Function App's Bicep app settings and RoomCal's settings (shared/config.py) cannot drift apart.

Every setting RoomCal reads is set in infra/app/function.bicep's roomcal-settings block, or is listed below as
one that must not exist in Azure, with the reason; every name in that block is one RoomCal reads; and where the
block sets a plain value, it is the value config.py documents as default (so Azure runs what the tests test).
"""

from __future__ import annotations

import re

import pytest

from shared.config import Settings
from tests.infra.tools import ROOT

FUNCTION_BICEP = ROOT / "infra" / "app" / "function.bicep"

NOT_IN_AZURE = {
    "AzureWebJobsStorage": "a connection string carries the account key; Azure uses AzureWebJobsStorage__* "
                           "(identity-based, shared key off)",
    "ROOMCAL_CLIENT_SECRET": "secretless in Azure: the federated credential, or the Key Vault certificate, replaces it",
    "ROOMCAL_CLIENT_CERTIFICATE_PATH": "a file path is for local use; in Azure ROOMCAL_CLIENT_CERTIFICATE is a Key "
                                       "Vault reference",
    "ROOMCAL_CA_BUNDLE": "trusts the local emulator's CA; in Azure the public CAs apply",
}
# Set in Bicep ahead of the code that reads them (none now: the doorbell keys are in config.py).
AHEAD_OF_CONFIG: set[str] = set()
# Values that deliberately differ from config.py's default in Azure (or are computed there).
COMPUTED_IN_AZURE = {"ROOMCAL_CLIENT_CREDENTIAL": "a parameter (federated_identity by default)",
                     "AzureWebJobsStorage__credential": "identity-based storage: managedidentity"}


def setting_names() -> dict[str, str]:
    """Environment name -> Settings field name."""
    names = {}
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names[alias.choices[0] if alias is not None else f"ROOMCAL_{field_name.upper()}"] = field_name
    return names


def bicep_settings() -> dict[str, str]:
    """The roomcal-settings block: name -> Bicep expression."""
    text = FUNCTION_BICEP.read_text()
    block = text.split("// BEGIN roomcal-settings", 1)[1].split("// END roomcal-settings", 1)[0]
    body = block.split("var roomcalSettings = {", 1)[1].rsplit("}", 1)[0]
    pairs = re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+?)\s*(?://.*)?$", body, re.M)
    return dict(pairs)


def test_the_block_is_found_and_not_empty():
    assert len(bicep_settings()) > 20


@pytest.mark.parametrize("name", sorted(setting_names()))
def test_each_setting_is_in_bicep_or_excluded_with_a_reason(name):
    assert name in bicep_settings() or name in NOT_IN_AZURE, (
        f"{name} is read by RoomCal but not set in infra/app/function.bicep (roomcal-settings block): add it there, "
        "or to NOT_IN_AZURE in this test with the reason")


def test_nothing_in_bicep_that_roomcal_does_not_read():
    unknown = set(bicep_settings()) - set(setting_names()) - AHEAD_OF_CONFIG
    assert unknown == set(), "set in Bicep but not read by shared/config.py"


def test_excluded_settings_are_real_and_really_excluded():
    assert set(NOT_IN_AZURE) <= set(setting_names())
    assert set(NOT_IN_AZURE).isdisjoint(bicep_settings())


def plain_values() -> dict[str, str]:
    """Settings Bicep sets to a literal (not a parameter, resource property or Key Vault reference)."""
    return {name: expression[1:-1] for name, expression in bicep_settings().items()
            if re.fullmatch(r"'[^'$@]*'", expression) and name in setting_names() and name not in COMPUTED_IN_AZURE}


@pytest.mark.parametrize("name", sorted(plain_values()))
def test_plain_values_are_the_documented_defaults(name):
    value = plain_values()[name]
    default = Settings.model_fields[setting_names()[name]].default
    default = default.get_secret_value() if hasattr(default, "get_secret_value") else default
    assert type(default)(value) == default, f"{name}: Bicep sets {value!r}, config.py's default is {default!r}"


def test_secrets_are_key_vault_references_never_literals():
    settings = bicep_settings()
    for name in ("ROOMCAL_HASH_KEY", "ROOMCAL_NOTIFICATIONS_KEY", "ROOMCAL_LIFECYCLE_KEY"):
        assert settings[name].startswith("'@Microsoft.KeyVault("), name
    assert "@Microsoft.KeyVault(" in settings["ROOMCAL_CLIENT_CERTIFICATE"]


def test_storage_is_identity_based():
    settings = bicep_settings()
    assert settings["AzureWebJobsStorage__credential"] == "'managedidentity'"
    assert "AzureWebJobsStorage" not in settings
    assert settings["ROOMCAL_ENVIRONMENT"] == "'production'"
