"""The emulator's state: tenants, the app registration, directory objects, mailboxes, calendars, sensors.

One ``World`` holds everything behind one re-entrant lock. Mutations that touch calendars go through
``world.mutate()``, which collects ``ChangeRecord``s and hands them to listeners after the lock is released.
"""

from __future__ import annotations

import base64
import contextlib
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .changelog import ChangeLog, ChangeRecord
from .notifysettings import NotifySettings

DEFAULT_CLIENT_ID = "11111111-2222-3333-4444-555555555555"
DEFAULT_SECRET = "dev-only-not-secret"
DEFAULT_REDIRECTS = ["http://127.0.0.1:7071/api/consent/callback", "http://127.0.0.1:7071/api/auth/callback"]
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


class Clock:
    """Wall clock plus an offset tests can advance (token expiry, throttling windows, RBAC delay)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Settings(NotifySettings):
    token_lifetime_s: int = 3600
    max_concurrency: int = 4  # per (app, mailbox), GRAPH_NOTES F
    request_budget: int = 10_000  # per (app, mailbox) per window
    budget_window_s: int = 600
    latency_ms: int = 0
    rbac_delay_s: int = 0  # real Exchange: 30 min to 2 h (GRAPH_NOTES G2)
    page_size_events: int = 10  # default $top of /events and /calendarView (undocumented; Outlook answers 10)
    page_size_delta: int = 10
    page_size_places: int = 100  # place-list.md
    delta_expired_mode: str = "syncStateNotFound"  # or "gone" (410 + Location)
    delta_expired_status: int = 400  # the docs only say "40X-series" for syncStateNotFound
    delta_state_capacity: int = 10_000  # sync states live in a capacity-limited cache; oldest evicted
    token_latency_ms: int = 0

    def update(self, values: dict) -> None:
        for k, v in values.items():
            if not hasattr(self, k):
                raise KeyError(k)
            kind = type(getattr(self, k))
            setattr(self, k, v if kind is bool and isinstance(v, bool) else kind(v))


@dataclass
class AppRegistration:
    client_id: str = DEFAULT_CLIENT_ID
    secrets: list[str] = field(default_factory=lambda: [DEFAULT_SECRET])
    certificate_pems: list[str] = field(default_factory=list)  # public certs (or keys) for client assertions
    redirect_uris: list[str] = field(default_factory=lambda: list(DEFAULT_REDIRECTS))
    permissions: list[str] = field(default_factory=lambda: ["Place.Read.All"])  # consented on admin consent
    display_name: str = "RoomCal"


@dataclass
class User:
    id: str
    upn: str
    name: str
    department: str = ""
    is_admin: bool = False
    app_roles: list[str] = field(default_factory=list)


@dataclass
class Mailbox:
    id: str
    email: str
    name: str
    kind: str = "room"  # RecipientTypeDetails: "room" → RoomMailbox, "shared" → SharedMailbox, else UserMailbox
    country: str = "NL"
    exchange_enabled: bool = True
    time_zone: str = "Europe/Amsterdam"

    @property
    def recipient_type(self) -> str:
        return {"room": "RoomMailbox", "shared": "SharedMailbox"}.get(self.kind, "UserMailbox")


@dataclass
class Place:
    """A /places room entry (room.md). It need not have a working mailbox: that is a misconfiguration to model."""

    id: str
    email: str
    name: str
    capacity: int | None = None
    building: str | None = None
    floor_number: int | None = None
    floor_label: str | None = None
    booking_type: str = "standard"
    wheelchair: bool = False
    tags: list[str] = field(default_factory=list)
    city: str = "Amsterdam"
    country: str = "NL"
    hidden: bool = False


@dataclass
class RoomList:
    id: str
    email: str
    name: str
    rooms: list[str] = field(default_factory=list)


@dataclass
class Group:
    id: str
    email: str
    name: str
    members: set[str] = field(default_factory=set)


@dataclass
class Scope:
    """A management scope: every condition present must match (OPATH -and)."""

    name: str
    member_of_group: str | None = None
    country: str | None = None
    recipient_type: str | None = None


@dataclass
class RoleAssignment:
    id: str
    role: str  # "Application Calendars.Read" | "Application Calendars.ReadWrite" | "Application Exchange Full Access"
    scope: str | None  # scope name; None = the whole organisation
    app_id: str
    created_at: datetime


@dataclass
class Tenant:
    id: str
    domain: str
    name: str
    consented: bool = False
    grants: set[str] = field(default_factory=set)  # Entra application permissions (token "roles")
    auto_consent: dict | None = None  # {"mode": approve|decline|non_admin, "user": upn}
    auto_signin: str | None = None  # upn signed in without the page
    users: dict[str, User] = field(default_factory=dict)  # by oid
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)  # by lower-case email
    places: dict[str, Place] = field(default_factory=dict)  # by lower-case email
    room_lists: dict[str, RoomList] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    scopes: dict[str, Scope] = field(default_factory=dict)
    role_assignments: list[RoleAssignment] = field(default_factory=list)
    meetings: dict = field(default_factory=dict)  # meeting id → calendar.Meeting
    copies: dict = field(default_factory=dict)  # raw id (bytes) of a single/master → calendar.Copy
    by_mailbox: dict = field(default_factory=dict)  # lower-case email → list[calendar.Copy]
    occupancy: dict[str, list[tuple[datetime, datetime, int]]] = field(default_factory=dict)
    sensors: dict[str, str] = field(default_factory=dict)  # room email → sensor id (sensors.py)
    sensor_outages: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)  # sensor silent
    labels: dict[str, str] = field(default_factory=dict)  # mailbox/place email → generator's misconfiguration
    analytics_profile: dict = field(default_factory=dict)  # what generator_stats planted, for tests and the demo

    def user(self, ident: str) -> User | None:
        ident = ident.lower()
        if ident in self.users:
            return self.users[ident]
        return next((u for u in self.users.values() if u.upn.lower() == ident), None)

    def mailbox(self, ident: str) -> Mailbox | None:
        ident = ident.lower()
        if ident in self.mailboxes:
            return self.mailboxes[ident]
        return next((m for m in self.mailboxes.values() if m.id == ident), None)


class World:
    def __init__(self, seed: int = 1) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.clock = Clock()
        self.settings = Settings()
        self.app = AppRegistration()
        self.tenants: dict[str, Tenant] = {}
        self.changes = ChangeLog()
        self.ids = random.Random(f"m365sim-ids-{seed}")
        self._stamp = 0
        self._pending: list[ChangeRecord] | None = None

    # --- ids -----------------------------------------------------------------------------------------------
    def guid(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def raw_id(self) -> bytes:
        return self.ids.getrandbits(128).to_bytes(16, "big")

    def next_stamp(self) -> int:
        with self.lock:
            self._stamp += 1
            return self._stamp

    # --- tenants ---------------------------------------------------------------------------------------------
    def tenant(self, ident: str) -> Tenant | None:
        ident = ident.lower()
        if ident in self.tenants:
            return self.tenants[ident]
        return next((t for t in self.tenants.values() if t.domain.lower() == ident), None)

    def add_tenant(self, domain: str | None = None, name: str | None = None, tenant_id: str | None = None) -> Tenant:
        with self.lock:
            tid = (tenant_id or self.guid()).lower()
            n = len(self.tenants) + 1
            t = Tenant(id=tid, domain=domain or f"contoso{n}.onmicrosoft.com", name=name or f"Contoso {n}")
            self.tenants[tid] = t
            return t

    # --- mutations and the change log --------------------------------------------------------------------------
    @contextlib.contextmanager
    def mutate(self):
        """Hold the lock for a calendar mutation; listeners see its records after the lock is released."""
        with self.lock:
            outer = self._pending is None
            if outer:
                self._pending = []
            try:
                yield self
            finally:
                records = self._pending if outer else []
                if outer:
                    self._pending = None
        if records:
            self.changes.dispatch(records)

    def record(self, tenant_id: str, mailbox: Mailbox, event_id: str, master_id: str | None, change: str) -> None:
        with self.lock:
            rec = ChangeRecord(
                self.next_stamp(),
                tenant_id,
                mailbox.email.lower(),
                mailbox.id,
                event_id,
                master_id,
                change,
                self.clock.now(),
            )
            self.changes.append(rec)
            if self._pending is not None:
                self._pending.append(rec)
            else:  # a mutation outside mutate(): dispatch right away (lock is re-entrant; listeners may block)
                self.changes.dispatch([rec])


def event_id(raw: bytes, occurrence: str | None = None) -> str:
    """Graph-looking ids: url-safe base64 with padding, never safe as a Table key (contains '-', '_', '=')."""
    payload = raw + (b"\x01" + occurrence.encode() if occurrence else b"\x00")
    return "AAMkAG" + base64.urlsafe_b64encode(payload).decode()


def parse_event_id(ident: str) -> tuple[bytes, str | None] | None:
    if not ident.startswith("AAMkAG"):
        return None
    try:
        payload = base64.urlsafe_b64decode(ident[6:])
    except (ValueError, TypeError):
        return None
    if len(payload) < 17:
        return None
    raw, flag, rest = payload[:16], payload[16], payload[17:]
    return (raw, rest.decode(errors="replace")) if flag == 1 else (raw, None)
