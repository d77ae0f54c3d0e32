"""Settings for Azure: identity-based storage, the credential kind, Key Vault references that did not resolve."""

from __future__ import annotations

import pytest

from shared.bootstrap import build_services
from shared.config import load_settings
from shared.errors import ConfigurationError

IDENTITY_STORAGE = {"AzureWebJobsStorage__accountName": "stroomcal",
                    "AzureWebJobsStorage__credential": "managedidentity",
                    "AzureWebJobsStorage__clientId": "0f0e0d0c-0000-4000-8000-000000000001"}


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith(("ROOMCAL_", "AzureWebJobsStorage", "IDENTITY_", "APPLICATIONINSIGHTS_")):
            monkeypatch.delenv(key)
    return monkeypatch


def test_identity_based_storage_builds_clients_for_the_account_without_a_key(clean_env):
    for key, value in IDENTITY_STORAGE.items():
        clean_env.setenv(key, value)
    services = build_services(load_settings(environment="development"))
    assert services.tables._service.url.startswith("https://stroomcal.table.core.windows.net")
    assert services.queues._service.url.startswith("https://stroomcal.queue.core.windows.net")
    credential = services.tables._service.credential
    assert type(credential).__name__ == "ManagedIdentityCredential"


def test_identity_based_storage_needs_the_managed_identity_credential(clean_env):
    clean_env.setenv("AzureWebJobsStorage__accountName", "stroomcal")
    with pytest.raises(ConfigurationError, match="managedidentity"):
        build_services(load_settings(environment="development"))


def test_no_storage_at_all_names_both_ways(clean_env):
    with pytest.raises(ConfigurationError) as err:
        build_services(load_settings(environment="development"))
    assert "AzureWebJobsStorage__accountName" in err.value.fix


@pytest.mark.parametrize(("settings", "missing"), [
    ({"client_credential": "federated_identity"}, ["ROOMCAL_MANAGED_IDENTITY_CLIENT_ID"]),
    ({"client_credential": "federated_identity", "managed_identity_client_id": "mi"}, []),
    ({"client_credential": "certificate"}, ["ROOMCAL_CLIENT_CERTIFICATE"]),
    ({"client_credential": "certificate", "client_certificate": "PEM"}, []),
    ({"client_credential": "secret"}, ["ROOMCAL_CLIENT_SECRET"]),
    ({"client_credential": "auto", "client_certificate_path": "/x.pem"}, []),
    ({"client_credential": "auto"}, ["ROOMCAL_CLIENT_SECRET"]),
])
def test_each_credential_kind_names_what_it_still_needs(clean_env, settings, missing):
    assert load_settings(environment="development", client_id="app", **settings).missing_for_graph() == missing


def test_an_unresolved_key_vault_reference_is_refused(clean_env):
    clean_env.setenv("ROOMCAL_HASH_KEY", "@Microsoft.KeyVault(VaultName=kv;SecretName=roomcal-hash-key)")
    with pytest.raises(ConfigurationError, match="Key Vault reference not resolved for ROOMCAL_HASH_KEY"):
        load_settings(environment="development")
