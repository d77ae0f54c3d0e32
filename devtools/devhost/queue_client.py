"""A lean Queue Storage client for the host's own queue work: output bindings and the trigger's hot path.

The real host talks to Queue Storage from .NET, in its own process, so the function's language worker pays
nothing for output-binding writes, polling or completing messages. The dev host is one Python process; doing that
through azure-storage-queue's pipeline (policies, retries, tracing hooks, XML models) took a large share of the
process under a burst (docs/performance.md). This client does only the calls the host makes on every message:
one persistent HTTP/1.1 connection per thread, Shared Key signing, five REST calls. Rare ones (visibility
renewal, release, poison) stay on the SDK.

REST: Put Message ``POST {queue}/messages`` with ``<QueueMessage><MessageText>…</MessageText></QueueMessage>``
(201); Get Messages ``GET {queue}/messages?numofmessages=&visibilitytimeout=`` (200, a QueueMessagesList);
Delete Message ``DELETE {queue}/messages/{id}?popreceipt=`` (204); Create Queue ``PUT {queue}`` (201, or 204
when it exists); Get Queue Metadata ``GET {queue}?comp=metadata`` (200; 404 while missing). Shared Key: the
string-to-sign of the Storage "Authorize with Shared Key" page (verb, the eleven standard headers, canonical
x-ms- headers, ``/{account}{path}`` and one ``\nname:value`` line per query parameter, sorted), HMAC-SHA256
with the base64-decoded account key. Errors are azure-core's (ResourceNotFoundError, HttpResponseError,
ServiceRequestError), so callers handle them as they handle the SDK's.
"""

from __future__ import annotations

import base64
import http.client
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import quote, urlencode, urlsplit
from xml.sax.saxutils import escape

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

from shared.adapters.queue_rest import shared_key_account, shared_key_signature

API_VERSION = "2021-08-06"


class QueueWriteError(HttpResponseError):
    """Storage refused a write; the invocation fails as the host's would."""


@dataclass(frozen=True)
class ReceivedMessage:
    """The fields of a received message the trigger uses (the SDK's QueueMessage attribute names)."""

    id: str
    pop_receipt: str
    dequeue_count: int
    inserted_on: datetime | None
    expires_on: datetime | None
    next_visible_on: datetime | None
    content: str


def _when(text: str | None) -> datetime | None:
    return parsedate_to_datetime(text) if text else None


def _account(connection_string: str) -> tuple[str, str, str]:
    found = shared_key_account(connection_string)
    if found is None:
        raise ValueError("the dev host's queue output binding needs AccountName and AccountKey in the connection "
                         "string (identity-based connections are not supported)")
    return found


class LeanQueueClient:
    def __init__(self, connection_string: str, timeout: float = 10.0) -> None:
        self.account, key, queue_endpoint = _account(connection_string)
        endpoint = urlsplit(queue_endpoint.rstrip("/"))
        self._key = base64.b64decode(key)
        self._https, self._netloc, self._base_path = endpoint.scheme == "https", endpoint.netloc, endpoint.path
        self._timeout = timeout
        self._local = threading.local()
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def put_messages(self, queue: str, texts: list[str]) -> None:
        """Write each message (already encoded as the host.json messageEncoding says); create the queue first,
        once per process, as the binding does."""
        self._ensure(queue)
        for text in texts:
            body = f"<QueueMessage><MessageText>{escape(text)}</MessageText></QueueMessage>".encode()
            status = self._request("POST", f"/{queue}/messages", body)
            if status == 404:  # deleted meanwhile: create again and retry once
                with self._lock:
                    self._created.discard(queue)
                self._ensure(queue)
                status = self._request("POST", f"/{queue}/messages", body)
            if status != 201:
                raise QueueWriteError(f"queue {queue!r}: Put Message answered {status}")

    def receive(self, queue: str, count: int, visibility_timeout: int) -> list[ReceivedMessage]:
        status, body = self._call("GET", f"/{queue}/messages",
                                  {"numofmessages": str(count), "visibilitytimeout": str(visibility_timeout)})
        self._raise_for(status, queue, "Get Messages", ok=(200,))
        messages = []
        # the storage account the host is configured with answers, as it does to the SDK (which parses it the same way)
        for node in ET.fromstring(body or b"<QueueMessagesList/>").iter("QueueMessage"):  # noqa: S314
            field = lambda name, n=node: n.findtext(name)  # noqa: E731
            messages.append(ReceivedMessage(
                id=field("MessageId"), pop_receipt=field("PopReceipt"), dequeue_count=int(field("DequeueCount") or 1),
                inserted_on=_when(field("InsertionTime")), expires_on=_when(field("ExpirationTime")),
                next_visible_on=_when(field("TimeNextVisible")), content=field("MessageText") or ""))
        return messages

    def delete(self, queue: str, message_id: str, pop_receipt: str) -> None:
        status, _ = self._call("DELETE", f"/{queue}/messages/{quote(message_id, safe='')}", {"popreceipt": pop_receipt})
        self._raise_for(status, queue, "Delete Message", ok=(204,))

    def exists(self, queue: str) -> bool:
        status, _ = self._call("GET", f"/{queue}", {"comp": "metadata"})
        if status == 404:
            return False
        self._raise_for(status, queue, "Get Queue Metadata", ok=(200,))
        return True

    @staticmethod
    def _raise_for(status: int, queue: str, operation: str, ok: tuple[int, ...]) -> None:
        if status in ok:
            return
        message = f"queue {queue!r}: {operation} answered {status}"
        if status == 404:
            raise ResourceNotFoundError(message)
        error = HttpResponseError(message)
        error.status_code = status
        raise error

    def _ensure(self, queue: str) -> None:
        if queue in self._created:
            return
        status = self._request("PUT", f"/{queue}", b"")
        if status not in (201, 204):
            raise QueueWriteError(f"queue {queue!r}: Create Queue answered {status}")
        with self._lock:
            self._created.add(queue)

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._netloc, timeout=self._timeout)
            self._local.conn = conn
        return conn

    def _request(self, verb: str, path: str, body: bytes) -> int:
        return self._call(verb, path, {}, body)[0]

    def _call(self, verb: str, path: str, query: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        path = self._base_path + path
        target = f"{path}?{urlencode(query)}" if query else path
        for attempt in (1, 2):  # a kept-alive connection the server closed is reopened once
            headers = self._signed(verb, path, body, query)
            conn = self._connection(fresh=attempt == 2)
            try:
                conn.request(verb, target, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                if attempt == 2:
                    raise ServiceRequestError(f"queue storage unreachable: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    def _signed(self, verb: str, path: str, body: bytes, query: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION, "Content-Length": str(len(body))}
        if body:
            headers["Content-Type"] = "application/xml"
        headers["Authorization"] = shared_key_signature(self.account, self._key, verb, path, headers, query)
        return headers
