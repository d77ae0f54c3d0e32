"""Azure Blob Storage adapter for the analytics BlobPort (azure-storage-blob): one container, ETag-conditional writes.

Azurite serves the same API locally (its blob port), so the Parquet aggregates run the same on both.
"""

from __future__ import annotations

import contextlib

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from shared.adapters.sdk_options import STORAGE_CLIENT_OPTIONS
from shared.errors import Conflict, NotFound, Unavailable


class AzureBlobs:
    def __init__(self, connection_string: str = "", container: str = "analytics", *,
                 service: BlobServiceClient | None = None) -> None:
        """From a connection string (Azurite, local) or a ready client (identity-based: storage_identity.py)."""
        service = service or BlobServiceClient.from_connection_string(connection_string, **STORAGE_CLIENT_OPTIONS)
        self._container = service.get_container_client(container)
        self._created = False

    def _client(self):
        if not self._created:
            with contextlib.suppress(ResourceExistsError):
                self._container.create_container()
            self._created = True
        return self._container

    def get(self, name: str) -> tuple[bytes, str]:
        try:
            downloader = self._client().download_blob(name, max_concurrency=1)
            return downloader.readall(), downloader.properties.etag
        except ResourceNotFoundError:
            raise NotFound(f"blob {name} not found") from None
        except AzureError as exc:
            raise Unavailable(f"blob storage unreachable: {type(exc).__name__}") from exc

    def put(self, name: str, data: bytes, *, etag: str | None = None, if_absent: bool = False) -> str:
        conditions: dict = {"overwrite": not if_absent}  # overwrite=False sends If-None-Match: *
        if etag is not None:
            conditions.update(etag=etag, match_condition=MatchConditions.IfNotModified)
        try:
            result = self._client().get_blob_client(name).upload_blob(data, **conditions)
        except (ResourceModifiedError, ResourceExistsError):
            raise Conflict(f"blob {name} changed meanwhile") from None
        except AzureError as exc:
            raise Unavailable(f"blob storage unreachable: {type(exc).__name__}") from exc
        return result["etag"]

    def list(self, prefix: str) -> list[str]:
        try:
            return sorted(b.name for b in self._client().list_blobs(name_starts_with=prefix))
        except AzureError as exc:
            raise Unavailable(f"blob storage unreachable: {type(exc).__name__}") from exc

    def etags(self, prefix: str) -> dict[str, str]:
        try:
            return {b.name: b.etag for b in self._client().list_blobs(name_starts_with=prefix)}
        except AzureError as exc:
            raise Unavailable(f"blob storage unreachable: {type(exc).__name__}") from exc

    def delete(self, name: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._client().delete_blob(name)
