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
    # The doorbells' delayed hints: the REST writer with the same identity's bearer token, same account.
    doorbell = services.doorbell_queues
    assert type(doorbell).__name__ == "RestQueueWriter" and doorbell._netloc == "stroomcal.queue.core.windows.net"
    assert doorbell._https and doorbell._auth._credential is credential


def test_a_connection_string_with_an_account_key_gives_the_doorbells_the_rest_writer(clean_env):
    from devtools.azurite import connection_string

    clean_env.setenv("AzureWebJobsStorage", connection_string(10000, 10001, 10002))
    services = build_services(load_settings(environment="development"))
    assert type(services.doorbell_queues).__name__ == "RestQueueWriter"
    assert services.doorbell_queues._netloc == "127.0.0.1:10001"


def _transport(client):
    transport = client._client._client._pipeline._transport
    while hasattr(transport, "_transport"):  # the SDKs wrap the shared transport per child client
        transport = transport._transport
    return transport


@pytest.mark.parametrize("storage", ["connection string", "identity"])
def test_no_storage_client_reads_proxies_or_ca_bundles_from_the_environment(clean_env, storage):
    """requests' per-call environment scan is skipped (sdk_options.py): the SDK transports do not trust it."""
    from devtools.azurite import connection_string

    if storage == "identity":
        for key, value in IDENTITY_STORAGE.items():
            clean_env.setenv(key, value)
    else:
        clean_env.setenv("AzureWebJobsStorage", connection_string(10000, 10001, 10002))
    services = build_services(load_settings(environment="development"))
    clients = [services.tables._service, services.queues._service, services.doorbell_queues._fallback._service,
               services.queues._service.get_queue_client("room-changes")]
    if storage == "connection string":
        clients.append(services.aggregates._blobs._container)
    assert [_transport(c)._use_env_settings for c in clients] == [False] * len(clients)


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
