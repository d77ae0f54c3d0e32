"""Identity-based storage clients, as the Functions host makes them from the same settings.

In Azure the storage account allows no shared key: ``AzureWebJobsStorage__accountName``, ``__credential``
(``managedidentity``) and ``__clientId`` (the user-assigned identity) name the account and the identity
(learn.microsoft.com/azure/azure-functions/functions-reference, "Connecting to host storage with an identity").
The account name implies the public cloud's endpoints, as it does for the host.
"""

from __future__ import annotations

from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

from shared.adapters.sdk_options import STORAGE_CLIENT_OPTIONS
from shared.config import Settings
from shared.errors import ConfigurationError


def credential(settings: Settings):
    from azure.identity import ManagedIdentityCredential

    if settings.storage_credential.lower() != "managedidentity":
        raise ConfigurationError("AzureWebJobsStorage__accountName is set but __credential is not managedidentity",
                                 fix="set AzureWebJobsStorage__credential=managedidentity and "
                                 "AzureWebJobsStorage__clientId to the user-assigned identity's client id")
    return ManagedIdentityCredential(client_id=settings.storage_client_id or None)


def table_service(settings: Settings, token_credential) -> TableServiceClient:
    return TableServiceClient(endpoint=f"https://{settings.storage_account_name}.table.core.windows.net",
                              credential=token_credential, **STORAGE_CLIENT_OPTIONS)


def queue_service(settings: Settings, token_credential, **client_options) -> QueueServiceClient:
    return QueueServiceClient(account_url=f"https://{settings.storage_account_name}.queue.core.windows.net",
                              credential=token_credential, **{**STORAGE_CLIENT_OPTIONS, **client_options})


def blob_service(settings: Settings, token_credential):
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(account_url=f"https://{settings.storage_account_name}.blob.core.windows.net",
                             credential=token_credential, **STORAGE_CLIENT_OPTIONS)
