"""Fakes of the ports in shared/ports.py: in-memory, inspectable, no mocks."""

from __future__ import annotations

import copy
import itertools
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

from shared.adapters.graph import DeltaPage
from shared.adapters.graph_errors import map_graph_error
from shared.errors import Conflict, InvalidInput, NotFound, RoomCalError
from shared.timezones import to_utc


class InMemoryTables:
    """TableStore fake: ``rows[table][(pk, rk)] = entity``. Supports the simple OData
    filters services use (``Prop eq/ne/lt/le/gt/ge 'value'`` joined by ``and``)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple[str, str], dict]] = {}
        self._etags = itertools.count(1)
        self._lock = threading.RLock()  # conditional writes are atomic, as in the real service

    def _table(self, name):
        return self.rows.setdefault(name, {})

    def get(self, table, partition_key, row_key):
        try:
            return copy.deepcopy(self._table(table)[(partition_key, row_key)])
        except KeyError:
            raise NotFound(f"{table} has no row {partition_key}/{row_key}") from None

    def upsert(self, table, entity):
        row = {k: v for k, v in copy.deepcopy(entity).items() if k != "_etag"}
        with self._lock:
            row["_etag"] = f"W/{next(self._etags)}"
            self._table(table)[(entity["PartitionKey"], entity["RowKey"])] = row

    def insert(self, table, entity):
        with self._lock:
            if (entity["PartitionKey"], entity["RowKey"]) in self._table(table):
                raise Conflict(f"{table} already has row {entity['PartitionKey']}/{entity['RowKey']}")
            self.upsert(table, entity)

    def merge(self, table, entity, *, etag=None):
        key = (entity["PartitionKey"], entity["RowKey"])
        with self._lock:
            current = self._table(table).get(key)
            if current is None:
                raise NotFound(f"{table} has no row {key[0]}/{key[1]}")
            if etag is not None and current["_etag"] != etag:
                raise Conflict(f"{table} row changed concurrently; reload and retry")
            merged = {**current, **{k: v for k, v in copy.deepcopy(entity).items() if k != "_etag"}}
            self.upsert(table, merged)
            return self._table(table)[key]["_etag"]

    def delete(self, table, partition_key, row_key):
        self._table(table).pop((partition_key, row_key), None)

    def query(self, table, partition_key=None, *, filter=None, select=None):
        match = _compile_filter(filter)
        with self._lock:
            snapshot = sorted(self._table(table).items())
        for (pk, _rk), row in snapshot:
            if partition_key is not None and pk != partition_key:
                continue
            if match(row):
                out = copy.deepcopy(row)
                # like Table Storage, a projection still carries the entity's etag
                yield {k: out[k] for k in (*select, "_etag") if k in out} if select else out

    def upsert_many(self, table, entities):
        for entity in entities:
            self.upsert(table, entity)

    def delete_many(self, table, keys):
        count = 0
        for partition_key, row_key in keys:
            self.delete(table, partition_key, row_key)
            count += 1
        return count

    def ping(self):
        return None


_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|lt|le|gt|ge)\s+(?:'((?:[^']|'')*)'|(true|false|-?\d+(?:\.\d+)?)"
                     r"|datetime'([^']+)')\s*$")
_OPS = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


def _compile_filter(expr):
    if not expr:
        return lambda row: True
    clauses = []
    for part in re.split(r"\s+and\s+", expr.strip().strip("()")):
        m = _CLAUSE.match(part.strip("() "))
        if not m:
            raise ValueError(f"InMemoryTables cannot evaluate filter clause {part!r}")
        prop, op, text, literal, moment = m.groups()
        if moment is not None:
            value = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        elif text is not None:
            value = text.replace("''", "'")
        elif literal in ("true", "false"):
            value = literal == "true"
        else:
            value = float(literal) if "." in literal else int(literal)
        clauses.append((prop, _OPS[op], value))

    def match(row):
        return all(prop in row and row[prop] is not None and _comparable(row[prop], value)
                   and op(row[prop], value) for prop, op, value in clauses)

    return match


def _comparable(stored, value) -> bool:
    """Table Storage compares only values of the same type (a string never matches a datetime)."""
    if isinstance(value, datetime):
        return isinstance(stored, datetime)
    return not isinstance(stored, datetime)


class FakeQueue:
    """MessageQueue fake: every message sent is kept in ``sent`` as ``(queue, payload, delay)``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, int]] = []

    def send(self, queue, payload, *, delay_seconds=0):
        self.sent.append((queue, copy.deepcopy(payload), delay_seconds))

    def messages(self, queue):
        return [payload for name, payload, _ in self.sent if name == queue]

    def ping(self):
        return None


class FixedClock:
    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def now(self):
        return self.at

    def advance(self, **delta):
        self.at += timedelta(**delta)


# ---------------------------------------------------------------- Microsoft Graph


def make_graph_event(*, start: datetime, end: datetime, event_id: str | None = None, room: str | None = None,
                     organizer: str = "organizer@contoso.com", attendees: tuple[str, ...] = (),
                     subject: str = "Private subject", created: datetime | None = None, **fields) -> dict:
    """A Graph event dict shaped like Microsoft's docs (GRAPH_NOTES §C), times in UTC."""
    def when(dt):
        return {"dateTime": dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}

    created = created or start - timedelta(days=1)
    people = [{"type": "required", "status": {"response": "accepted", "time": "2026-01-01T00:00:00Z"},
               "emailAddress": {"name": a.split("@")[0], "address": a}} for a in attendees]
    if room:
        people.append({"type": "resource", "status": {"response": "accepted", "time": "2026-01-01T00:00:00Z"},
                       "emailAddress": {"name": room.split("@")[0], "address": room}})
    event = {
        "@odata.type": "#microsoft.graph.event", "id": event_id or f"AAMk{uuid.uuid4().hex}=",
        "type": "singleInstance", "seriesMasterId": None, "subject": subject, "bodyPreview": subject,
        "body": {"contentType": "html", "content": f"<p>{subject}</p>"},
        "start": when(start), "end": when(end), "originalStartTimeZone": "UTC", "originalEndTimeZone": "UTC",
        "isAllDay": False, "isCancelled": False, "showAs": "busy", "sensitivity": "normal",
        "createdDateTime": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "lastModifiedDateTime": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "organizer": {"emailAddress": {"name": organizer.split("@")[0], "address": organizer}},
        "attendees": people,
        "location": {"displayName": room or "", "locationEmailAddress": room, "locationType": "conferenceRoom"},
        "locations": [{"displayName": room or "", "locationEmailAddress": room, "locationType": "conferenceRoom"}],
        "recurrence": None, "responseStatus": {"response": "accepted", "time": "2026-01-01T00:00:00Z"},
        "isOnlineMeeting": False, "onlineMeeting": None, "onlineMeetingUrl": None,
    }
    event.update(fields)
    return event


def make_series(*, start: datetime, count: int, minutes: int = 30, room: str | None = None,
                master_id: str | None = None, **fields) -> tuple[dict, list[dict]]:
    """A daily series as Graph shows it: its master and its ``count`` occurrences in full (the
    occurrences share the master's fields; ``FakeGraph`` turns them into stubs in delta)."""
    master_id = master_id or f"AAMkMaster{uuid.uuid4().hex}="
    recurrence = {"pattern": {"type": "daily", "interval": 1},
                  "range": {"type": "numbered", "startDate": start.date().isoformat(), "numberOfOccurrences": count,
                            "recurrenceTimeZone": "UTC"}}
    end = start + timedelta(minutes=minutes)
    master = make_graph_event(start=start, end=end, event_id=master_id, room=room, type="seriesMaster",
                              recurrence=recurrence, **fields)
    occurrences = []
    for k in range(count):
        s, e = start + timedelta(days=k), end + timedelta(days=k)
        occurrence = make_graph_event(start=s, end=e, event_id=f"{master_id[:-1]}_occ{k}=", room=room,
                                      type="occurrence", seriesMasterId=master_id, **fields)
        occurrence["originalStart"] = s.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        occurrence["createdDateTime"] = master["createdDateTime"]
        occurrence["lastModifiedDateTime"] = master["lastModifiedDateTime"]
        occurrences.append(occurrence)
    return master, occurrences


class FakeGraph:
    """GraphPort fake: rooms, mailboxes, events with a change log, delta tokens, subscriptions.

    Drive it like people and Microsoft would: ``add_room``, ``add_event`` / ``update_event`` /
    ``delete_event``; ``deny`` (outside the RBAC scope → MailboxAccessDenied), ``remove_mailbox``
    (→ MailboxNotFound), ``throttle`` (next calls → Throttled), ``fail`` (→ Unavailable),
    ``expire_delta`` (stored delta links → DeltaTokenExpired), ``remove_subscription``. Errors are
    built by the real mapping (shared.adapters.graph_errors) so messages match production.
    Calendar views do not expand series: add occurrences as events of type "occurrence" and their
    master as an event of type "seriesMaster" (``make_series``). Like real Graph, delta never returns
    a master and sends occurrences as stubs (``stub_occurrences``; docs-contrib issues 5602, 34, 7968).
    Inspect ``calls``, ``selects`` (the $select of each get_event), ``declined``, ``subscriptions``.
    """

    BASE = "https://graph.fake/v1.0"
    STUB_FIELDS = ("@odata.type", "@odata.etag", "id", "type", "seriesMasterId", "start", "end")
    stub_occurrences = True

    def __init__(self, *, page_size: int = 10) -> None:
        self.page_size = page_size
        self.places: dict[str, list[dict]] = {}
        self.mailboxes: dict[tuple[str, str], dict[str, dict]] = {}
        self.changes: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self.delta_tokens: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.denied: set[tuple[str, str]] = set()
        self.settings_denied: set[tuple[str, str]] = set()
        self.places_denied: set[str] = set()
        self.throttled: dict[tuple[str, str], list[float]] = {}
        self.failing: dict[tuple[str, str], int] = {}
        self.declined: list[tuple[str, str, str, str]] = []
        self.reauthorized: list[str] = []
        self.calls: list[tuple[str, str, str | None]] = []
        self.selects: list[tuple[str, ...] | None] = []
        self.throttled_reads: list[float] = []
        self.time_zones: dict[tuple[str, str], str] = {}  # (tenant, mailbox) -> mailboxSettings.timeZone
        self.departments: dict[tuple[str, str], str] = {}  # (tenant, person) -> department
        self._seq = itertools.count(1)

    # -- driving the world

    def add_room(self, tenant: str, email: str, *, display_name: str | None = None, capacity: int | None = None,
                 building: str | None = None, floor: int | None = None) -> dict:
        place = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, email)), "emailAddress": email,
                 "displayName": display_name or email.split("@")[0], "capacity": capacity, "building": building,
                 "floorNumber": floor, "floorLabel": None, "bookingType": "standard", "tags": []}
        self.places.setdefault(tenant, []).append(place)
        self.mailboxes.setdefault((tenant, email.lower()), {})
        return place

    def add_event(self, tenant: str, mailbox: str, event: dict | None = None, **kwargs) -> str:
        event = copy.deepcopy(event) if event is not None else make_graph_event(room=mailbox, **kwargs)
        self._box(tenant, mailbox)[event["id"]] = event
        self._changed(tenant, mailbox, event["id"])
        return event["id"]

    def update_event(self, tenant: str, mailbox: str, event_id: str, **fields) -> None:
        self._box(tenant, mailbox)[event_id].update(copy.deepcopy(fields))
        self._changed(tenant, mailbox, event_id)

    def delete_event(self, tenant: str, mailbox: str, event_id: str) -> None:
        self._box(tenant, mailbox).pop(event_id, None)
        self._changed(tenant, mailbox, event_id)

    def deny(self, tenant: str, mailbox: str) -> None:
        self.denied.add((tenant, mailbox.lower()))

    def remove_mailbox(self, tenant: str, mailbox: str) -> None:
        self.mailboxes.pop((tenant, mailbox.lower()), None)

    def throttle(self, tenant: str, mailbox: str, *, times: int = 1, retry_after: float = 30.0) -> None:
        self.throttled.setdefault((tenant, mailbox.lower()), []).extend([retry_after] * times)

    def throttle_event_reads(self, *, times: int = 1, retry_after: float = 30.0) -> None:
        """The next ``times`` get_event calls (of any mailbox) answer 429, delta and the rest do not."""
        self.throttled_reads.extend([retry_after] * times)

    def fail(self, tenant: str, mailbox: str, *, times: int = 1) -> None:
        self.failing[(tenant, mailbox.lower())] = times

    def expire_delta(self, tenant: str, mailbox: str) -> None:
        for state in self.delta_tokens.values():
            if (state["tenant"], state["mailbox"]) == (tenant, mailbox.lower()):
                state["expired"] = True

    def remove_subscription(self, subscription_id: str) -> None:
        self.subscriptions.pop(subscription_id, None)

    # -- GraphPort

    def list_rooms(self, tenant):
        self.calls.append(("list_rooms", tenant, None))
        if tenant in self.places_denied:
            raise map_graph_error(403, _odata("ErrorAccessDenied", "Access is denied."))
        yield from copy.deepcopy(self.places.get(tenant, []))

    def get_user(self, tenant, email):
        self._enter("get_user", tenant, email)
        return {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, email.lower())), "mail": email, "userPrincipalName": email}

    def get_user_department(self, tenant, email):
        self.calls.append(("get_user_department", tenant, email.lower()))
        return self.departments.get((tenant, email.lower()), "")

    def get_mailbox_time_zone(self, tenant, mailbox):
        self._enter("get_mailbox_time_zone", tenant, mailbox)
        if (tenant, mailbox.lower()) in self.settings_denied:  # no 'Application MailboxSettings.Read' for it
            raise map_graph_error(403, _odata("ErrorAccessDenied", "Access is denied."), mailbox=mailbox)
        return self.time_zones.get((tenant, mailbox.lower()), "W. Europe Standard Time")

    def calendar_view_delta(self, tenant, mailbox, *, start=None, end=None, delta_link=None, page_size=None):
        self._enter("calendar_view_delta", tenant, mailbox)
        box = self._box(tenant, mailbox)
        if delta_link:
            state = self.delta_tokens.get(delta_link.rsplit("=", 1)[-1])
            if state is None or state["expired"]:
                raise map_graph_error(410, _odata("resyncRequired", "Resync required."), mailbox=mailbox)
            since, start, end = state["seq"], state["start"], state["end"]
            changed = dict.fromkeys(i for seq, i in self.changes.get((tenant, mailbox.lower()), []) if seq > since)
            items = [self._delta_item(box[i]) if i in box and self._overlaps(box[i], start, end)
                     else {"@odata.type": "#microsoft.graph.event", "id": i, "@removed": {"reason": "deleted"}}
                     for i in changed if box.get(i, {}).get("type") != "seriesMaster"]
        else:
            if start is None or end is None:
                raise InvalidInput("calendar_view_delta needs start and end, or a delta_link")
            items = [self._delta_item(e) for e in box.values()
                     if self._overlaps(e, start, end) and e.get("type") != "seriesMaster"]
        token = uuid.uuid4().hex
        self.delta_tokens[token] = {"tenant": tenant, "mailbox": mailbox.lower(), "start": start, "end": end,
                                    "seq": self._current_seq(), "expired": False}
        size = page_size or self.page_size
        chunks = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
        url = f"{self.BASE}/users/{mailbox}/calendarView/delta"
        for number, chunk in enumerate(chunks, 1):
            last = number == len(chunks)
            yield DeltaPage(items=chunk, next_link=None if last else f"{url}?$skiptoken={token}-{number}",
                            delta_link=f"{url}?$deltatoken={token}" if last else None)

    def get_event(self, tenant, mailbox, event_id, *, select=None):
        self._enter("get_event", tenant, mailbox)
        self.selects.append(tuple(select) if select else None)
        if self.throttled_reads:
            raise map_graph_error(429, _odata("TooManyRequests", "Please retry again later."),
                                  {"Retry-After": str(self.throttled_reads.pop(0))}, mailbox=mailbox)
        event = self._box(tenant, mailbox).get(event_id)
        if event is None:
            raise map_graph_error(404, _odata("ErrorItemNotFound", "The specified object was not found in the store."),
                                  mailbox=mailbox)
        event = copy.deepcopy(event)
        return {k: v for k, v in event.items() if k in {*select, "id", "@odata.etag"}} if select else event

    def list_calendar_view(self, tenant, mailbox, start, end):
        self._enter("list_calendar_view", tenant, mailbox)
        events = [copy.deepcopy(e) for e in self._box(tenant, mailbox).values() if self._overlaps(e, start, end)]
        yield from sorted(events, key=lambda e: e["start"]["dateTime"])

    def decline_event(self, tenant, mailbox, event_id, comment, *, send_response=True):
        event = self.get_event(tenant, mailbox, event_id)
        event["responseStatus"] = {"response": "declined", "time": "2026-01-01T00:00:00Z"}
        for attendee in event.get("attendees", []):
            if attendee["emailAddress"]["address"].lower() == mailbox.lower():
                attendee["status"]["response"] = "declined"
        self._box(tenant, mailbox)[event_id] = event
        self._changed(tenant, mailbox, event_id)
        self.declined.append((tenant, mailbox.lower(), event_id, comment))

    def batch(self, tenant, requests_):
        self.calls.append(("batch", tenant, None))
        answers = []
        for index, request in enumerate(requests_):
            url = request["url"][len(self.BASE):] if request["url"].startswith(self.BASE) else request["url"]
            parts = url.split("?")[0].strip("/").split("/")
            answer = {"id": str(request.get("id", index)), "status": 404, "headers": {}, "body": {}}
            if request["method"] == "GET" and parts[-2:] == ["calendarView", "delta"]:
                answer.update(self._batched_delta(tenant, parts[1], self.BASE + url))
            elif request["method"] == "PATCH" and len(parts) == 2 and parts[0] == "subscriptions":
                try:
                    expiry = datetime.fromisoformat(request["body"]["expirationDateTime"][:26] + "+00:00")
                    answer.update(status=200, body=self.renew_subscription(tenant, parts[1], expiry))
                except RoomCalError as exc:
                    status = exc.detail.get("http_status", 500)
                    headers = {"Retry-After": str(int(exc.retry_after))} if status == 429 else {}
                    answer.update(status=status, headers=headers, body=_odata(exc.code, exc.message))
            elif request["method"] == "GET" and len(parts) == 4 and parts[0] == "users" and parts[2] == "events":
                try:
                    answer.update(status=200, body=self.get_event(tenant, parts[1], parts[3]))
                except RoomCalError as exc:
                    answer.update(status=exc.detail.get("http_status", 500), body=_odata(exc.code, exc.message))
            answers.append(answer)
        return answers

    def _batched_delta(self, tenant, mailbox, delta_link):
        """One delta page as a $batch answer: errors keep their status (a 429 its Retry-After)."""
        try:
            page = next(self.calendar_view_delta(tenant, mailbox, delta_link=delta_link))
        except RoomCalError as exc:
            status = exc.detail.get("http_status", 500)
            headers = {"Retry-After": str(int(exc.retry_after))} if status == 429 else {}
            return {"status": status, "headers": headers, "body": _odata(exc.code, exc.message)}
        body = {"value": page.items}
        body["@odata.nextLink" if page.next_link else "@odata.deltaLink"] = page.next_link or page.delta_link
        return {"status": 200, "body": body}

    def create_subscription(self, tenant, mailbox, *, notification_url, expiration, client_state,
                            lifecycle_url=None, change_type="created,updated,deleted", resource=None):
        self._enter("create_subscription", tenant, mailbox)
        resource = resource or f"/users/{mailbox}/events"
        if any(s["resource"] == resource and s["tenant"] == tenant for s in self.subscriptions.values()):
            raise map_graph_error(409, _odata("ExtensionError", "Subscription already exists"), mailbox=mailbox)
        sub = {"id": str(uuid.uuid4()), "tenant": tenant, "resource": resource, "changeType": change_type,
               "notificationUrl": notification_url, "lifecycleNotificationUrl": lifecycle_url,
               "clientState": client_state, "expirationDateTime": expiration.astimezone(UTC).isoformat()}
        self.subscriptions[sub["id"]] = sub
        return {k: v for k, v in sub.items() if k != "tenant"}

    def renew_subscription(self, tenant, subscription_id, expiration, *, notification_url=None):
        sub = self._subscription(tenant, subscription_id)
        sub["expirationDateTime"] = expiration.astimezone(UTC).isoformat()
        if notification_url:
            sub["notificationUrl"] = notification_url
        return {k: v for k, v in sub.items() if k != "tenant"}

    def get_subscription(self, tenant, subscription_id):
        return {k: v for k, v in self._subscription(tenant, subscription_id).items() if k != "tenant"}

    def list_subscriptions(self, tenant):
        self.calls.append(("list_subscriptions", tenant, None))
        return [{k: v for k, v in s.items() if k != "tenant"} for s in self.subscriptions.values()
                if s["tenant"] == tenant]

    def delete_subscription(self, tenant, subscription_id):
        self.calls.append(("delete_subscription", tenant, None))
        self.subscriptions.pop(subscription_id, None)

    def reauthorize_subscription(self, tenant, subscription_id):
        self._subscription(tenant, subscription_id)
        self.reauthorized.append(subscription_id)

    # -- internals

    def _delta_item(self, event):
        if self.stub_occurrences and event.get("type") == "occurrence":
            return {k: copy.deepcopy(event[k]) for k in self.STUB_FIELDS if k in event}
        return copy.deepcopy(event)

    def _subscription(self, tenant, subscription_id):
        self.calls.append(("subscription", tenant, None))
        sub = self.subscriptions.get(subscription_id)
        if sub is None or sub["tenant"] != tenant:
            raise map_graph_error(404, _odata("ResourceNotFound", "Subscription not found"))
        return sub

    def _enter(self, operation, tenant, mailbox):
        key = (tenant, mailbox.lower())
        self.calls.append((operation, tenant, mailbox.lower()))
        if self.throttled.get(key):
            retry_after = self.throttled[key].pop(0)
            raise map_graph_error(429, _odata("TooManyRequests", "Please retry again later."),
                                  {"Retry-After": str(retry_after)}, mailbox=mailbox)
        if self.failing.get(key):
            self.failing[key] -= 1
            raise map_graph_error(503, _odata("ServiceUnavailable", "Service unavailable"), mailbox=mailbox)
        if key in self.denied:
            raise map_graph_error(403, _odata("ErrorAccessDenied", "Access is denied."), mailbox=mailbox)
        if key not in self.mailboxes:
            raise map_graph_error(404, _odata("ErrorInvalidUser", f"The requested user '{mailbox}' is invalid."),
                                  mailbox=mailbox)

    def _box(self, tenant, mailbox) -> dict[str, dict]:
        return self.mailboxes.setdefault((tenant, mailbox.lower()), {})

    def _changed(self, tenant, mailbox, event_id):
        self.changes.setdefault((tenant, mailbox.lower()), []).append((next(self._seq), event_id))

    def _current_seq(self) -> int:
        return max((seq for log in self.changes.values() for seq, _ in log), default=0)

    @staticmethod
    def _overlaps(event, start, end) -> bool:
        begins = to_utc(event["start"]["dateTime"], event["start"]["timeZone"])
        ends = to_utc(event["end"]["dateTime"], event["end"]["timeZone"])
        return begins < end and ends > start


def _odata(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message,
                      "innerError": {"request-id": str(uuid.uuid4()), "date": "2026-11-24T09:00:00"}}}


class FakeTokenSource:
    """TokenSource fake: tenants in ``consented`` get a token with ``roles_by_tenant[tid]`` roles;
    any other tenant raises ConsentMissing the way Entra refuses an unconsented (or revoked) tenant.
    ``revoke(tid)`` takes consent away."""

    def __init__(self, consented=(), roles_by_tenant=None) -> None:
        self.consented = set(consented)
        self.roles_by_tenant = dict(roles_by_tenant or {})
        self.asked: list[str] = []

    def __call__(self, tenant_id):
        return self.token(tenant_id)

    def token(self, tenant_id):
        from shared.errors import ConsentMissing

        self.asked.append(tenant_id)
        if tenant_id not in self.consented:
            raise ConsentMissing(f"tenant {tenant_id} has not granted RoomCal admin consent, or revoked it",
                                 fix="ask a Microsoft admin of the tenant to grant consent again")
        return f"token-for-{tenant_id}"

    def roles(self, tenant_id):
        self.token(tenant_id)
        return set(self.roles_by_tenant.get(tenant_id, {"Place.Read.All"}))

    def forget(self, tenant_id):
        """Nothing is cached here: every token already reflects the current grant."""

    def revoke(self, tenant_id):
        self.consented.discard(tenant_id)
