"""The doorbells' delayed hints: one Put Message over a kept-alive connection, without the SDK's pipeline.

Why: a queue output binding cannot delay a message (functions/webhooks.py), so under a burst the hint gate's
delayed follow-ups (about one per room per 0.75 s) are written by the webhook itself. Through
azure-storage-queue each cost about 1 ms of the worker's CPU (its policy chain, ``requests`` scanning the
environment for proxies on every call, XML models); fifty rooms' follow-ups fall in the same 100 ms and every
acknowledgement waits behind them (docs/performance.md: p99 96 ms with them, 13 ms without). This writer makes
the one REST call with ``http.client``: about 0.12 ms.

REST (learn.microsoft.com/rest/api/storageservices): Put Message ``POST /{queue}/messages?visibilitytimeout=N``
(201), Create Queue ``PUT /{queue}`` (201, or 204 when it exists) on first use and after a 404. Authorized as the
SDK clients are: Shared Key from the connection string's account key ("Authorize with Shared Key": the
string-to-sign of verb, the standard headers, the canonical ``x-ms-`` headers and ``/{account}{path}`` plus one
``\\nname:value`` line per query parameter), or a bearer token of the managed identity for
``https://storage.azure.com/.default`` ("Authorize with Microsoft Entra ID", x-ms-version 2017-11-09 or later).
One attempt, 2 s timeouts: every failure is ``Unavailable`` (the webhook answers 503 and Graph retries).
What it cannot do (a SAS or development-shortcut connection string) and ``ping`` stay with the SDK adapter it is
given. Like every storage client of RoomCal's, it ignores proxy settings in the environment (sdk_options.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import ssl
import threading
import time
from email.utils import formatdate
from urllib.parse import urlencode, urlsplit
from xml.sax.saxutils import escape

from shared.errors import Unavailable
from shared.ports import MessageQueue

API_VERSION = "2021-08-06"
STORAGE_SCOPE = "https://storage.azure.com/.default"
_TOKEN_REFRESH_SECONDS = 300  # a token is renewed this long before it expires


def shared_key_signature(account: str, key: bytes, verb: str, path: str, headers: dict[str, str],
                         query: dict[str, str] | None = None) -> str:
    """The ``Authorization`` value for a request to ``path`` (the URL path, account segment included when the
    endpoint is path-style, as Azurite's is) with exactly these headers."""
    def header(name: str) -> str:
        return next((v for k, v in headers.items() if k.lower() == name), "")

    length = header("content-length")
    standard = [verb, header("content-encoding"), header("content-language"), "" if length == "0" else length,
                header("content-md5"), header("content-type"), "", header("if-modified-since"), header("if-match"),
                header("if-none-match"), header("if-unmodified-since"), header("range")]
    canonical = "".join(f"{k.lower()}:{v}\n" for k, v in sorted(headers.items(), key=lambda kv: kv[0].lower())
                        if k.lower().startswith("x-ms-"))
    resource = f"/{account}{path}" + "".join(f"\n{k.lower()}:{v}" for k, v in sorted((query or {}).items()))
    to_sign = "\n".join(standard) + "\n" + canonical + resource
    signature = base64.b64encode(hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).digest()).decode()
    return f"SharedKey {account}:{signature}"


class SharedKey:
    def __init__(self, account: str, key: str) -> None:
        self.account, self._key = account, base64.b64decode(key)

    def authorize(self, verb: str, path: str, headers: dict[str, str], query: dict[str, str]) -> None:
        headers["Authorization"] = shared_key_signature(self.account, self._key, verb, path, headers, query)


class BearerToken:
    """A managed identity's token for Storage, fetched once and renewed shortly before it expires."""

    def __init__(self, credential, *, clock=time.time) -> None:
        self._credential, self._clock = credential, clock
        self._token, self._expires_on = "", 0.0
        self._lock = threading.Lock()

    def authorize(self, verb: str, path: str, headers: dict[str, str], query: dict[str, str]) -> None:
        with self._lock:
            if self._clock() > self._expires_on - _TOKEN_REFRESH_SECONDS:
                try:
                    token = self._credential.get_token(STORAGE_SCOPE)
                except Exception as exc:
                    raise Unavailable(f"no storage token for the managed identity: {type(exc).__name__}") from exc
                self._token, self._expires_on = token.token, float(token.expires_on)
            headers["Authorization"] = f"Bearer {self._token}"


class RestQueueWriter:
    """The MessageQueue port for the doorbells: ``send`` over REST, ``ping`` by the SDK adapter."""

    def __init__(self, endpoint: str, auth: SharedKey | BearerToken, fallback: MessageQueue, *,
                 timeout: float = 2.0) -> None:
        url = urlsplit(endpoint.rstrip("/"))
        self._https, self._netloc, self._base_path = url.scheme == "https", url.netloc, url.path
        self._auth, self._fallback, self._timeout = auth, fallback, timeout
        self._local = threading.local()
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def send(self, queue: str, payload: dict, *, delay_seconds: int = 0) -> None:
        text = base64.b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()).decode()
        body = f"<QueueMessage><MessageText>{escape(text)}</MessageText></QueueMessage>".encode()
        query = {"visibilitytimeout": str(delay_seconds)} if delay_seconds else {}
        self._ensure(queue)
        status = self._call("POST", f"/{queue}/messages", query, body)
        if status == 404:  # the queue was deleted meanwhile: create it again, write once more
            with self._lock:
                self._created.discard(queue)
            self._ensure(queue)
            status = self._call("POST", f"/{queue}/messages", query, body)
        if status != 201:
            raise Unavailable(f"queue {queue!r} unreachable: Put Message answered {status}")

    def ping(self) -> None:
        self._fallback.ping()

    def _ensure(self, queue: str) -> None:
        if queue in self._created:
            return
        status = self._call("PUT", f"/{queue}", {}, b"")
        if status not in (201, 204):
            raise Unavailable(f"queue {queue!r} unreachable: Create Queue answered {status}")
        with self._lock:
            self._created.add(queue)

    def _call(self, verb: str, path: str, query: dict[str, str], body: bytes) -> int:
        path = self._base_path + path
        target = f"{path}?{urlencode(query)}" if query else path
        conn, reused = self._connection()
        for attempt in (1, 2):
            headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION,
                       "Content-Length": str(len(body))}
            if body:
                headers["Content-Type"] = "application/xml"
            self._auth.authorize(verb, path, headers, query)
            try:
                conn.request(verb, target, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if not reused or attempt == 2:  # only a kept-alive connection the server closed is tried again
                    raise Unavailable(f"queue storage unreachable: {type(exc).__name__}") from exc
                conn, reused = self._connection(fresh=True)
        raise AssertionError("unreachable")

    def _connection(self, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not fresh:
            return conn, True
        if self._https:
            conn = http.client.HTTPSConnection(self._netloc, timeout=self._timeout,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(self._netloc, timeout=self._timeout)
        self._local.conn = conn
        return conn, False


def shared_key_account(connection_string: str) -> tuple[str, str, str] | None:
    """``(account, key, queue endpoint)`` of a connection string with an account key; None for any other kind
    (SAS, ``UseDevelopmentStorage=true``). The endpoint defaults as the SDK's: protocol, account, suffix."""
    parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    if "AccountName" not in parts or "AccountKey" not in parts:
        return None
    endpoint = parts.get("QueueEndpoint") or (f"{parts.get('DefaultEndpointsProtocol', 'https')}://"
                                              f"{parts['AccountName']}.queue."
                                              f"{parts.get('EndpointSuffix', 'core.windows.net')}")
    return parts["AccountName"], parts["AccountKey"], endpoint


def doorbell_queue(fallback: MessageQueue, *, connection_string: str = "", account_url: str = "",
                   credential=None) -> MessageQueue:
    """The REST writer where it can serve (Shared Key or a managed identity); else ``fallback``."""
    if connection_string:
        found = shared_key_account(connection_string)
        if found is None:
            return fallback
        account, key, endpoint = found
        auth: SharedKey | BearerToken = SharedKey(account, key)
    elif account_url and credential is not None:
        endpoint, auth = account_url, BearerToken(credential)
    else:
        return fallback
    return RestQueueWriter(endpoint, auth, fallback)
