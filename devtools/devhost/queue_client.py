"""A lean Queue Storage client for the host's own writes (queue output bindings): Put Message and Create Queue.

The real host writes output-binding messages from .NET, in its own process, so the function's language worker
pays nothing for them. The dev host is one Python process; writing through azure-storage-queue's pipeline
(policies, retries, tracing hooks, XML models) cost a large share of every webhook call under a burst
(docs/performance.md). This client does only what a binding needs: one persistent HTTP/1.1 connection per
thread, Shared Key signing, the two REST calls.

REST: Put Message ``POST {queue}/messages`` with ``<QueueMessage><MessageText>…</MessageText></QueueMessage>``
(201); Create Queue ``PUT {queue}`` (201 created, 204 already there). Shared Key: the string-to-sign of the
Storage "Authorize with Shared Key" page (verb, the eleven standard headers, canonical x-ms- headers,
``/{account}{path}``), HMAC-SHA256 with the base64-decoded account key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import threading
from email.utils import formatdate
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

API_VERSION = "2021-08-06"


class QueueWriteError(RuntimeError):
    """Storage refused or could not be reached; the invocation fails as the host's would."""


def _parse(connection_string: str) -> dict[str, str]:
    parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    if "AccountName" not in parts or "AccountKey" not in parts:
        raise ValueError("the dev host's queue output binding needs AccountName and AccountKey in the connection "
                         "string (identity-based connections are not supported)")
    if "QueueEndpoint" not in parts:
        protocol = parts.get("DefaultEndpointsProtocol", "https")
        suffix = parts.get("EndpointSuffix", "core.windows.net")
        parts["QueueEndpoint"] = f"{protocol}://{parts['AccountName']}.queue.{suffix}"
    return parts


class LeanQueueClient:
    def __init__(self, connection_string: str, timeout: float = 10.0) -> None:
        parts = _parse(connection_string)
        endpoint = urlsplit(parts["QueueEndpoint"].rstrip("/"))
        self.account, self._key = parts["AccountName"], base64.b64decode(parts["AccountKey"])
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
        path = self._base_path + path
        for attempt in (1, 2):  # a kept-alive connection the server closed is reopened once
            headers = self._signed(verb, path, body)
            conn = self._connection(fresh=attempt == 2)
            try:
                conn.request(verb, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException) as exc:
                if attempt == 2:
                    raise QueueWriteError(f"queue storage unreachable: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    def _signed(self, verb: str, path: str, body: bytes) -> dict[str, str]:
        headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION,
                   "Content-Type": "application/xml" if body else ""}
        length = str(len(body)) if body else ""
        canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()) if k.startswith("x-ms-"))
        to_sign = "\n".join([verb, "", "", length, "", headers["Content-Type"], "", "", "", "", "", ""])
        to_sign += "\n" + canonical_headers + f"/{self.account}{path}"
        signature = base64.b64encode(hmac.new(self._key, to_sign.encode(), hashlib.sha256).digest()).decode()
        headers["Authorization"] = f"SharedKey {self.account}:{signature}"
        headers["Content-Length"] = str(len(body))
        if not body:
            headers.pop("Content-Type")
        return headers
