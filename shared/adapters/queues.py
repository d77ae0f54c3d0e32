"""Azure Queue Storage adapter for the MessageQueue port.

The Functions host expects base64 message bodies (host.json messageEncoding), while the
Python SDK sends plain text unless told otherwise: hence the encode policy.
"""

from __future__ import annotations

import contextlib
import json
import threading

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.queue import ExponentialRetry, QueueServiceClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from shared.adapters.sdk_options import STORAGE_CLIENT_OPTIONS
from shared.errors import Unavailable

# For a caller that must answer within a deadline (Graph's doorbell: 3 s), one attempt with short timeouts:
# the SDK's default retry sleeps 15 s and more between attempts, far past the point where Graph gives up;
# failing fast answers 503 and Graph retries the delivery itself.
DEADLINE_OPTIONS = {"retry_policy": ExponentialRetry(initial_backoff=0, increment_base=1, retry_total=0,
                                                     random_jitter_range=0),
                    "connection_timeout": 2, "read_timeout": 2}


class AzureMessageQueue:
    def __init__(self, connection_string: str = "", *, service: QueueServiceClient | None = None,
                 **client_options) -> None:
        """From a connection string (Azurite, local) or a ready client (identity-based: storage_identity.py);
        ``client_options`` (e.g. DEADLINE_OPTIONS) go to the client made from the connection string."""
        self._service = service or QueueServiceClient.from_connection_string(
            connection_string, **{**STORAGE_CLIENT_OPTIONS, **client_options})
        self._clients: dict = {}
        self._lock = threading.Lock()

    def client(self, name: str):
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._service.get_queue_client(
                    name, message_encode_policy=TextBase64EncodePolicy(),
                    message_decode_policy=TextBase64DecodePolicy(),
                )
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                self._clients[name] = client
            return client

    def send(self, queue: str, payload: dict, *, delay_seconds: int = 0) -> None:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        try:
            self.client(queue).send_message(body, visibility_timeout=delay_seconds or None)
        except AzureError as exc:
            raise Unavailable(f"queue {queue!r} unreachable: {type(exc).__name__}") from exc

    def ping(self) -> None:
        # A health probe answers fast: one attempt, short connect timeout, no SDK retries.
        try:
            next(iter(self._service.list_queues(results_per_page=1, retry_total=0, connection_timeout=3)), None)
        except AzureError as exc:
            raise Unavailable(f"queue storage unreachable: {type(exc).__name__}") from exc
