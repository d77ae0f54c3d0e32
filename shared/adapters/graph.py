"""Microsoft Graph adapter: rooms, calendar delta, events, decline, $batch and subscriptions.

One ``GraphClient`` per process over the shared ``requests.Session`` (the transport seam: tests
mount a fake ``BaseAdapter`` on it). Policies, all in ``_call``:

* ``Retry-After`` on 429/503/504 is honoured while the total wait for one call stays within
  ``max_wait_seconds``; beyond that ``Throttled(retry_after=...)`` is raised so the queue
  redelivers later instead of the Function sleeping (STYLE.md §2 item 7);
* other 5xx and connection failures are retried with bounded exponential backoff
  (``backoff_initial * 2**n`` capped at ``backoff_max``, at most ``max_retries`` times), then
  ``Unavailable``;
* at most ``per_mailbox_concurrency`` (Graph's documented limit: 4) requests are in flight per
  (tenant, mailbox); the slot is released while sleeping;
* errors are mapped once, in ``graph_errors.map_response``, and never carry event content.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlparse

import requests

from shared import metrics
from shared.adapters.graph_errors import map_response, retry_after_seconds
from shared.config import Settings
from shared.errors import ConfigurationError, InvalidInput, NotFound, RoomCalError, Throttled, Unavailable
from shared.log import log_event

log = logging.getLogger("roomcal.graph")

BATCH_LIMIT = 20  # requests per $batch call (https://learn.microsoft.com/graph/json-batching)
_IDEMPOTENT = {"GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_MAX_THROTTLE_RETRIES = 10
_MAX_SKIP_PAGES = 1000  # $top/$skip paging: 100,000 rooms at the default page size


@dataclass(frozen=True)
class DeltaPage:
    """One page of a calendarView delta round. Persist ``delta_link`` only after storing ``items``."""

    items: list[dict] = field(default_factory=list)
    next_link: str | None = None
    delta_link: str | None = None

    @property
    def is_last(self) -> bool:
        return self.delta_link is not None


class GraphClient:
    def __init__(self, session: requests.Session, tokens: Callable[[str], str], base_url: str, *,
                 max_wait_seconds: float = 60.0, max_retries: int = 4, per_mailbox_concurrency: int = 4,
                 page_size: int = 100, sleep: Callable[[float], None] = time.sleep,
                 backoff_initial: float = 1.0, backoff_max: float = 30.0) -> None:
        self._session = session
        self._tokens = tokens
        self._base = base_url.rstrip("/")
        self._origin = _origin(self._base)
        self._max_wait = max_wait_seconds
        self._max_retries = max_retries
        self._concurrency = per_mailbox_concurrency
        self._page_size = page_size
        self._sleep = sleep
        self._backoff = (backoff_initial, backoff_max)
        self._slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, session: requests.Session, tokens: Callable[[str], str],
                      **overrides: Any) -> GraphClient:
        options = {"max_wait_seconds": settings.graph_max_wait_seconds, "max_retries": settings.graph_max_retries,
                   "per_mailbox_concurrency": settings.graph_mailbox_concurrency,
                   "page_size": settings.graph_page_size, **overrides}
        return cls(session, tokens, settings.graph_base_url, **options)

    # ------------------------------------------------------------ rooms and users

    def list_rooms(self, tenant: str) -> Iterator[dict]:
        """All room places of the tenant (needs Place.Read.All).

        /places answers at most ``$top`` rooms (100 by default) and, unlike the paging docs, no
        ``@odata.nextLink`` (docs-contrib issues 341 and 6252; msgraph-sdk-dotnet 2190: 1,535 rooms,
        100 listed): page with ``$top``/``$skip`` until a short page, and still follow a nextLink
        should one ever appear. https://learn.microsoft.com/graph/api/place-list"""
        yield from self._skip_paged(tenant, "/places/microsoft.graph.room")

    def get_user(self, tenant: str, email: str) -> dict:
        """``{"id", "mail", "userPrincipalName"}`` of a mailbox's user object (its object id).
        https://learn.microsoft.com/graph/api/user-get"""
        return self._call(tenant, "GET", f"/users/{_seg(email, 'e-mail')}", mailbox=email,
                          params={"$select": "id,mail,userPrincipalName"})

    def get_user_department(self, tenant: str, email: str) -> str:
        """A person's department (analytics groups, only with directory reads on; needs User.Read.All).
        https://learn.microsoft.com/graph/api/user-get"""
        body = self._call(tenant, "GET", f"/users/{_seg(email, 'e-mail')}", params={"$select": "department"})
        return str(body.get("department") or "")

    def get_mailbox_time_zone(self, tenant: str, mailbox: str) -> str:
        """The mailbox's time zone as Exchange keeps it (usually a Windows name; map with shared.timezones).
        Needs MailboxSettings.Read, or RBAC role 'Application MailboxSettings.Read' in the room's scope.
        https://learn.microsoft.com/graph/api/user-get-mailboxsettings"""
        body = self._call(tenant, "GET", f"/users/{_seg(mailbox, 'e-mail')}/mailboxSettings", mailbox=mailbox,
                          params={"$select": "timeZone"})
        return str(body.get("timeZone") or "")

    # ------------------------------------------------------------ calendar

    def calendar_view_delta(self, tenant: str, mailbox: str, *, start: datetime | None = None,
                            end: datetime | None = None, delta_link: str | None = None,
                            page_size: int | None = None) -> Iterator[DeltaPage]:
        """Pages of a calendarView delta round: from ``delta_link`` if given, else a new round over
        [start, end). Follows ``@odata.nextLink`` until the page carrying ``@odata.deltaLink``.
        Raises DeltaTokenExpired when Graph forgot the round (410, syncStateNotFound, resyncRequired).
        https://learn.microsoft.com/graph/api/event-delta"""
        if delta_link:
            url, params = delta_link, None
        else:
            if start is None or end is None:
                raise InvalidInput("calendar_view_delta needs start and end, or a delta_link")
            url = f"/users/{_seg(mailbox, 'mailbox')}/calendarView/delta"
            params = {"startDateTime": _iso(start), "endDateTime": _iso(end)}
        seen = _PageLinks(mailbox)
        seen.fetching(url, params)
        while True:
            page = self.delta_page(tenant, mailbox, url, params=params, page_size=page_size)
            yield page
            if page.next_link is None:
                return
            url, params = page.next_link, None
            seen.fetching(url, params)

    def delta_page(self, tenant: str, mailbox: str, url: str, *, params: dict | None = None,
                   page_size: int | None = None) -> DeltaPage:
        """One delta page from a nextLink/deltaLink (or the first URL with its parameters)."""
        headers = {"Prefer": f"odata.maxpagesize={page_size or self._page_size}"}
        body = self._call(tenant, "GET", url, mailbox=mailbox, params=params, headers=headers)
        page = DeltaPage(items=[i for i in body.get("value") or [] if isinstance(i, dict)],
                         next_link=body.get("@odata.nextLink"), delta_link=body.get("@odata.deltaLink"))
        if page.next_link is None and page.delta_link is None:
            raise Unavailable("Microsoft Graph returned a delta page without nextLink or deltaLink",
                              detail={"room": mailbox})
        return page

    def get_event(self, tenant: str, mailbox: str, event_id: str, *, select: Iterable[str] | None = None) -> dict:
        """The current state of one event (raw Graph dict: normalise before keeping it); ``select``
        asks for those fields only. https://learn.microsoft.com/graph/api/event-get"""
        params = {"$select": ",".join(select)} if select else None
        return self._call(tenant, "GET", f"/users/{_seg(mailbox, 'mailbox')}/events/{_seg(event_id, 'event id')}",
                          mailbox=mailbox, params=params)

    def list_calendar_view(self, tenant: str, mailbox: str, start: datetime, end: datetime) -> Iterator[dict]:
        """Occurrences, exceptions and single events overlapping [start, end) (raw Graph dicts).
        https://learn.microsoft.com/graph/api/user-list-calendarview"""
        yield from self._items(tenant, f"/users/{_seg(mailbox, 'mailbox')}/calendarView", mailbox=mailbox,
                               params={"startDateTime": _iso(start), "endDateTime": _iso(end)},
                               headers={"Prefer": f"odata.maxpagesize={self._page_size}"})

    def decline_event(self, tenant: str, mailbox: str, event_id: str, comment: str, *,
                      send_response: bool = True) -> None:
        """Decline the meeting in the room's calendar (202, no body; needs Calendars.ReadWrite).
        https://learn.microsoft.com/graph/api/event-decline"""
        self._call(tenant, "POST",
                   f"/users/{_seg(mailbox, 'mailbox')}/events/{_seg(event_id, 'event id')}/decline",
                   mailbox=mailbox, json_body={"comment": comment, "sendResponse": send_response})

    # ------------------------------------------------------------ $batch

    def batch(self, tenant: str, requests_: list[dict]) -> list[dict]:
        """Run requests through ``$batch`` in chunks of 20; answers in input order.

        Each request is ``{"method", "url", "id"?, "headers"?, "body"?}`` with a relative ``url`` (an
        absolute one on Graph's own base URL, such as a stored deltaLink, is made relative).
        Inner 429s are retried (as a new batch) while the wait stays within the budget; other
        inner failures are returned as they are (``{"id", "status", "headers", "body"}``).
        https://learn.microsoft.com/graph/json-batching"""
        prepared = []
        for index, request in enumerate(requests_):
            item = {**request, "id": str(request.get("id", index)), "url": self._relative(request["url"])}
            if item.get("body") is not None:
                item["headers"] = {"Content-Type": "application/json", **(item.get("headers") or {})}
            prepared.append(item)
        ids = [p["id"].lower() for p in prepared]
        if len(set(ids)) != len(ids):
            raise InvalidInput("batch request ids must be unique (compared case-insensitively)")
        answers: dict[str, dict] = {}
        for start in range(0, len(prepared), BATCH_LIMIT):
            answers.update(self._batch_chunk(tenant, prepared[start:start + BATCH_LIMIT]))
        return [answers[p["id"].lower()] for p in prepared]

    def _batch_chunk(self, tenant: str, chunk: list[dict]) -> dict[str, dict]:
        answers: dict[str, dict] = {}
        pending, waited, rounds = chunk, 0.0, 0
        while pending:
            body = self._call(tenant, "POST", "/$batch", json_body={"requests": pending})
            for answer in body.get("responses") or []:
                answers[str(answer.get("id", "")).lower()] = answer
            throttled = [r for r in pending if answers.get(r["id"].lower(), {}).get("status") == 429]
            waits = [retry_after_seconds(answers[r["id"].lower()].get("headers")) or 1.0 for r in throttled]
            wait = max(waits, default=0.0)
            rounds += 1
            if not throttled or rounds > _MAX_THROTTLE_RETRIES or waited + wait > self._max_wait:
                break
            self._sleep(wait)
            waited += wait
            pending = throttled
        return answers

    # ------------------------------------------------------------ subscriptions

    def create_subscription(self, tenant: str, mailbox: str, *, notification_url: str, expiration: datetime,
                            client_state: str, lifecycle_url: str | None = None,
                            change_type: str = "created,updated,deleted", resource: str | None = None) -> dict:
        """Subscribe to changes of the room's events (201 → the subscription; 409 → Conflict).
        https://learn.microsoft.com/graph/api/subscription-post-subscriptions"""
        if not client_state or len(client_state) > 128:
            raise InvalidInput("clientState must be 1 to 128 characters")
        body = {"changeType": change_type, "notificationUrl": notification_url,
                "resource": resource or f"/users/{_seg(mailbox, 'mailbox')}/events",
                "expirationDateTime": _iso(expiration), "clientState": client_state,
                "latestSupportedTlsVersion": "v1_2"}
        if lifecycle_url:
            body["lifecycleNotificationUrl"] = lifecycle_url
        return self._call(tenant, "POST", "/subscriptions", mailbox=mailbox, json_body=body)

    def renew_subscription(self, tenant: str, subscription_id: str, expiration: datetime, *,
                           notification_url: str | None = None) -> dict:
        """Move the expiry (also reauthorizes), and the notificationUrl when given (Graph validates the new one;
        lifecycleNotificationUrl cannot be changed). https://learn.microsoft.com/graph/api/subscription-update"""
        body = {"expirationDateTime": _iso(expiration)}
        if notification_url:
            body["notificationUrl"] = notification_url
        return self._call(tenant, "PATCH", f"/subscriptions/{_seg(subscription_id, 'subscription id')}",
                          json_body=body)

    def list_subscriptions(self, tenant: str) -> Iterator[dict]:
        """The app's subscriptions in this tenant. https://learn.microsoft.com/graph/api/subscription-list"""
        yield from self._items(tenant, "/subscriptions")

    def get_subscription(self, tenant: str, subscription_id: str) -> dict:
        """One subscription; NotFound when Graph removed it. https://learn.microsoft.com/graph/api/subscription-get"""
        return self._call(tenant, "GET", f"/subscriptions/{_seg(subscription_id, 'subscription id')}")

    def delete_subscription(self, tenant: str, subscription_id: str) -> None:
        """Delete; succeeds when it is already gone. https://learn.microsoft.com/graph/api/subscription-delete"""
        with contextlib.suppress(NotFound):
            self._call(tenant, "DELETE", f"/subscriptions/{_seg(subscription_id, 'subscription id')}")

    def reauthorize_subscription(self, tenant: str, subscription_id: str) -> None:
        """Answer a reauthorizationRequired lifecycle event (204).
        https://learn.microsoft.com/graph/api/subscription-reauthorize"""
        self._call(tenant, "POST", f"/subscriptions/{_seg(subscription_id, 'subscription id')}/reauthorize")

    # ------------------------------------------------------------ transport

    def _items(self, tenant: str, url: str, *, mailbox: str | None = None, params: dict | None = None,
               headers: dict | None = None) -> Iterator[dict]:
        seen = _PageLinks(mailbox)
        while url:
            seen.fetching(url, params)
            body = self._call(tenant, "GET", url, mailbox=mailbox, params=params, headers=headers)
            yield from (i for i in body.get("value") or [] if isinstance(i, dict))
            url, params = body.get("@odata.nextLink"), None  # nextLink already carries the query

    def _skip_paged(self, tenant: str, path: str) -> Iterator[dict]:
        top, skip, seen = self._page_size, 0, set()
        for _ in range(_MAX_SKIP_PAGES):
            body = self._call(tenant, "GET", path, params={"$top": str(top), "$skip": str(skip)})
            items = [i for i in body.get("value") or [] if isinstance(i, dict)]
            if body.get("@odata.nextLink"):  # a server that does page: follow it from here on
                yield from items
                yield from self._items(tenant, body["@odata.nextLink"])
                return
            fresh = [i for i in items if _identity(i) not in seen]
            seen.update(_identity(i) for i in fresh)
            yield from fresh
            if len(items) < top or not fresh:  # a short page ends it; a page of repeats means $skip is ignored
                return
            skip += len(items)
        raise Unavailable(f"Microsoft Graph kept returning full pages of {path} past {_MAX_SKIP_PAGES} pages; "
                          "stopped paging", fix="retry later")

    def _call(self, tenant: str, method: str, url: str, *, mailbox: str | None = None, params: dict | None = None,
              json_body: Any = None, headers: dict | None = None) -> dict:
        url = self._absolute(url)
        client_request_id = str(uuid.uuid4())
        waited, attempt = 0.0, 0
        while True:
            attempt += 1
            try:
                response = self._send(tenant, method, url, mailbox, params, json_body, headers, client_request_id)
            except (requests.ConnectionError, requests.Timeout) as exc:
                error: RoomCalError = Unavailable(f"Microsoft Graph unreachable ({type(exc).__name__})",
                                                  fix="retry later", detail={"client_request_id": client_request_id})
                # A read timeout may mean Graph did the work: only repeat what is safe to repeat.
                retryable = method in _IDEMPOTENT or not isinstance(exc, requests.ReadTimeout)
                wait = self._backoff_wait(attempt) if retryable and attempt <= self._max_retries else None
            else:
                if response.status_code < 400:
                    return _json(response, client_request_id)
                error = map_response(response, mailbox=mailbox)
                if response.status_code == 429:
                    metrics.graph_throttled(tenant)
                wait = self._retry_wait(response, attempt)
            if wait is None or waited + wait > self._max_wait:
                if isinstance(error, Throttled) and not error.retry_after:
                    error.retry_after = wait or self._backoff_wait(attempt)
                raise error
            log_event(log, "graph request retried", level=logging.WARNING, tenant=tenant, room=mailbox,
                      status=error.code, attempt=attempt, retry_after=wait,
                      request_id=error.detail.get("request_id"), client_request_id=client_request_id)
            self._sleep(wait)
            waited += wait

    def _retry_wait(self, response: requests.Response, attempt: int) -> float | None:
        status = response.status_code
        retry_after = retry_after_seconds(response.headers)
        if status in (429, 503, 504) and retry_after is not None:
            return retry_after if attempt <= _MAX_THROTTLE_RETRIES else None
        if status == 429:
            return self._backoff_wait(attempt) if attempt <= _MAX_THROTTLE_RETRIES else None
        if status >= 500 and attempt <= self._max_retries:
            return self._backoff_wait(attempt)
        return None

    def _backoff_wait(self, attempt: int) -> float:
        initial, cap = self._backoff
        return min(cap, initial * 2 ** (attempt - 1))

    def _send(self, tenant, method, url, mailbox, params, json_body, headers, client_request_id):
        token = self._tokens(tenant)
        all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                       "client-request-id": client_request_id, **(headers or {})}
        with self._slot(tenant, mailbox):
            return self._session.request(method, url, params=params, json=json_body, headers=all_headers)

    def _slot(self, tenant: str, mailbox: str | None):
        if not mailbox:
            return contextlib.nullcontext()
        key = (tenant, mailbox.lower())
        with self._slots_lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = threading.BoundedSemaphore(self._concurrency)
        return slot

    def _relative(self, url: str) -> str:
        """A URL inside a $batch is relative to the version root (/v1.0)."""
        if not url.startswith(("http://", "https://")):
            return url
        absolute = self._absolute(url)  # refuses another host
        if not absolute.startswith(self._base + "/"):
            raise ConfigurationError("a $batch request URL is not under ROOMCAL_GRAPH_BASE_URL",
                                     fix="ROOMCAL_GRAPH_BASE_URL must match the base Graph uses in its links")
        return absolute[len(self._base):]

    def _absolute(self, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            return self._base + (url if url.startswith("/") else "/" + url)
        if _origin(url) != self._origin:
            # nextLink/deltaLink must stay on Graph: never send the tenant's token elsewhere.
            raise ConfigurationError(f"Microsoft Graph returned a link to another host ({urlparse(url).netloc})",
                                     fix="ROOMCAL_GRAPH_BASE_URL must match the host Graph (or the emulator) "
                                     "uses in its links")
        return url


class _PageLinks:
    """The pages one paging loop has asked for: a server whose nextLink leads back to a page already
    read (itself, or an earlier one) would otherwise keep a worker paging forever."""

    def __init__(self, mailbox: str | None) -> None:
        self._mailbox = mailbox
        self._seen: set[tuple[str, tuple]] = set()

    def fetching(self, url: str, params: dict | None) -> None:
        key = (url, tuple(sorted((params or {}).items())))
        if key in self._seen:
            raise Unavailable("Microsoft Graph returned a nextLink to a page it had already returned (a paging "
                              "loop); stopped following it", fix="retry later; if it persists, the room needs a "
                              "full resync", detail={"room": self._mailbox} if self._mailbox else None)
        self._seen.add(key)


def _json(response: requests.Response, client_request_id: str) -> dict:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        raise Unavailable("Microsoft Graph answered with a body that is not JSON",
                          detail={"http_status": response.status_code, "client_request_id": client_request_id,
                                  "request_id": response.headers.get("request-id")}) from None
    return body if isinstance(body, dict) else {"value": body}


def _identity(item: dict) -> str:
    return str(item.get("id") or item.get("emailAddress") or sorted(item.items()))


def _seg(value: str, what: str) -> str:
    """One URL path segment; an empty id must not turn /things/{id} into a list call."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} is empty")
    return quote(value.strip(), safe="@=")


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise InvalidInput("Graph times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _origin(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed.scheme.lower(), parsed.netloc.lower()


__all__ = ["BATCH_LIMIT", "DeltaPage", "GraphClient"]
