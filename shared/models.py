"""RoomCal's data shapes, one per direction (STYLE.md §2 item 11).

Stored shapes (``Tenant``, ``Room``, ``RoomEvent``, ``SubscriptionRecord``) map to flat Table
Storage entities with ``to_entity()`` / ``from_entity()``: lists and nested objects become JSON
strings, datetimes are timezone-aware UTC, ``None`` properties are left out. Input shapes
(``TenantSettingsUpdate``) forbid unknown fields so a typo is an error, not a silent no-op.

``RoomEvent`` is the privacy whitelist made into a type (DESIGN.md): it has no field for a
subject, body, preview, attachment, join URL or Graph id, and ``extra="forbid"`` means none can
be smuggled in. Build it with ``shared.sync.privacy.normalise_event``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared import keys
from shared.errors import InvalidInput
from shared.ports import Entity

M = TypeVar("M", bound=BaseModel)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must carry a time zone (UTC expected), not be naive")
    return value.astimezone(UTC)


def _iana_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone name (e.g. 'Europe/Amsterdam', 'UTC')") from None
    return value


def _as_value_error(normalise):
    def check(value: str) -> str:
        try:
            return normalise(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    return check


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
IanaZone = Annotated[str, AfterValidator(_iana_zone)]
Email = Annotated[str, AfterValidator(_as_value_error(keys.normalise_email))]
TenantId = Annotated[str, AfterValidator(_as_value_error(keys.normalise_tenant_id))]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_STORED = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)


# ---------------------------------------------------------------- tenants and settings


class OfficeHours(BaseModel):
    model_config = _STORED

    start: time
    end: time

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.start >= self.end:
            raise ValueError(f"office hours must start before they end, got {self.start:%H:%M}-{self.end:%H:%M}")
        return self


def _default_hours() -> dict[Weekday, OfficeHours]:
    return {day: OfficeHours(start=time(8), end=time(18)) for day in WEEKDAYS[:5]}


# calendarView (and its delta) refuse longer windows: "Maximum number of days: 1825" (docs-contrib issue 6321)
MAX_SYNC_WINDOW_DAYS = 1825


class TenantSettings(BaseModel):
    """A tenant's analytics and no-show settings (stored on the Tenants row)."""

    model_config = _STORED

    office_hours: dict[Weekday, OfficeHours] = Field(default_factory=_default_hours)
    time_zone: IanaZone = "UTC"
    backfill_days: int = Field(default=180, ge=0, le=3650)
    lookahead_days: int = Field(default=365, ge=1, le=1825)
    retention_days: int = Field(default=395, ge=1, le=3650)
    noshow_release: bool = False
    grace_minutes: int = Field(default=10, ge=5, le=30)
    adhoc_threshold_minutes: int = Field(default=15, ge=0, le=10080)
    meetup_minutes: int = Field(default=10, ge=1, le=480)
    # Exchange clears the private flag of meetings in room calendars by default (Set-CalendarProcessing
    # -RemovePrivateProperty $true), so RoomCal cannot tell a private meeting there: no view shows organiser
    # names unless the tenant turns this on, ideally after setting RemovePrivateProperty $false on its rooms.
    show_organisers: bool = False

    def shows_organiser(self, sensitivity: str | None) -> bool:
        """Whether a view may name the organiser of a meeting with this sensitivity."""
        return self.show_organisers and sensitivity not in ("private", "confidential")
    # analytics (issue 15): holidays take a day out of available time; zones per building name
    holidays: list[date] = Field(default_factory=list, max_length=1000)
    holiday_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    holiday_subdivision: str | None = Field(default=None, max_length=10)
    building_time_zones: dict[str, IanaZone] = Field(default_factory=dict)
    directory_reads: bool = False  # organiser department in the groups view (Graph user department, cached)
    # no-show release and sensor reports (issue 11); the release is off until noshow_release is true
    noshow_release_rooms: list[Email] = Field(default_factory=list, max_length=5000)  # empty with buildings: all
    noshow_release_buildings: list[str] = Field(default_factory=list, max_length=500)
    noshow_long_block_minutes: int = Field(default=480, ge=30, le=1440)
    noshow_min_lead_minutes: int = Field(default=10, ge=0, le=1440)
    noshow_series_strikes: int = Field(default=0, ge=0, le=20)  # 0: never stop a series
    ghost_series_strikes: int = Field(default=3, ge=2, le=50)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.office_hours:
            raise ValueError("office_hours needs at least one weekday, "
                             "e.g. {'mon': {'start': '08:00', 'end': '18:00'}}")
        window = self.backfill_days + self.lookahead_days
        if window > MAX_SYNC_WINDOW_DAYS:
            raise ValueError(f"backfill_days + lookahead_days is {window} days, but Microsoft Graph refuses calendar "
                             f"windows over {MAX_SYNC_WINDOW_DAYS} days (400 ErrorInvalidRequest); lower one of them "
                             f"so that together they are at most {MAX_SYNC_WINDOW_DAYS}, e.g. backfill_days "
                             f"{max(0, MAX_SYNC_WINDOW_DAYS - self.lookahead_days)} with lookahead_days "
                             f"{self.lookahead_days}")
        if self.retention_days < self.backfill_days:
            raise ValueError(f"retention_days ({self.retention_days}) must be at least backfill_days "
                             f"({self.backfill_days}), or the purge would delete what the backfill just read")
        return self


class TenantSettingsUpdate(BaseModel):
    """What an admin may send to change settings: every field optional, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid")

    office_hours: dict[Weekday, OfficeHours] | None = None
    time_zone: IanaZone | None = None
    backfill_days: int | None = None
    lookahead_days: int | None = None
    retention_days: int | None = None
    noshow_release: bool | None = None
    grace_minutes: int | None = None
    adhoc_threshold_minutes: int | None = None
    meetup_minutes: int | None = None
    show_organisers: bool | None = None
    holidays: list[date] | None = None
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    building_time_zones: dict[str, IanaZone] | None = None
    directory_reads: bool | None = None
    noshow_release_rooms: list[Email] | None = None
    noshow_release_buildings: list[str] | None = None
    noshow_long_block_minutes: int | None = None
    noshow_min_lead_minutes: int | None = None
    noshow_series_strikes: int | None = None
    ghost_series_strikes: int | None = None

    def apply(self, current: TenantSettings) -> TenantSettings:
        """The new settings; re-validated as a whole (raises pydantic.ValidationError)."""
        changes = self.model_dump(exclude_none=True)
        return TenantSettings.model_validate({**current.model_dump(), **changes})


class TenantStatus(StrEnum):
    pending_consent = "pending_consent"
    consented = "consented"
    active = "active"
    offboarding = "offboarding"  # marked; its data is being deleted (shared/onboarding/offboarding.py)
    offboarded = "offboarded"


class Tenant(BaseModel):
    model_config = _STORED

    id: TenantId
    status: TenantStatus = TenantStatus.pending_consent
    settings: TenantSettings = Field(default_factory=TenantSettings)
    created_at: UtcDateTime
    updated_at: UtcDateTime
    consented_at: UtcDateTime | None = None
    offboarded_at: UtcDateTime | None = None
    reason: str = ""

    def to_entity(self) -> Entity:
        return to_entity(self, "tenant", self.id, json_fields=("settings",))

    @classmethod
    def from_entity(cls, entity: Entity) -> Tenant:
        return from_entity(cls, entity, id="RowKey", json_fields=("settings",))


# ---------------------------------------------------------------- rooms and sync state


class SyncStatus(StrEnum):
    synced = "synced"
    not_synced = "not_synced"
    pending = "pending"


class Room(BaseModel):
    """A room mailbox of a tenant, with its sync state (Rooms table)."""

    model_config = _STORED

    tenant_id: TenantId
    email: Email
    display_name: str = ""
    capacity: int | None = Field(default=None, ge=0)
    building: str | None = None
    floor: str | None = None
    time_zone: IanaZone | None = None
    sensor_id: str | None = None
    object_id: str | None = None
    sync_status: SyncStatus = SyncStatus.pending
    sync_reason: str = ""
    sync_fix: str = ""
    delta_link: str | None = None
    subscription_id: str | None = None
    subscription_expires_at: UtcDateTime | None = None
    last_sync_at: UtcDateTime | None = None
    last_full_sync_at: UtcDateTime | None = None
    event_count: int = Field(default=0, ge=0)
    sync_count: int = Field(default=0, ge=0)
    error_count: int = Field(default=0, ge=0)

    @classmethod
    def from_place(cls, tenant_id: str, place: dict[str, Any]) -> Room:
        """A new Room from a Graph ``room`` place (capacity may be a string or null in the docs)."""
        capacity = place.get("capacity")
        floor = place.get("floorLabel") or place.get("floorNumber")
        return cls(
            tenant_id=tenant_id, email=place.get("emailAddress"), display_name=place.get("displayName") or "",
            capacity=int(capacity) if str(capacity or "").strip().isdigit() else None,
            building=place.get("building") or None, floor=str(floor) if floor not in (None, "") else None,
        )

    @property
    def partition(self) -> str:
        """PartitionKey of this room's Events rows."""
        return keys.room_partition(self.tenant_id, self.email)

    def to_entity(self) -> Entity:
        return to_entity(self, self.tenant_id, self.email)

    @classmethod
    def from_entity(cls, entity: Entity) -> Room:
        return from_entity(cls, entity, tenant_id="PartitionKey", email="RowKey")


class SyncResult(BaseModel):
    """What one sync of one room did (logged and returned by the sync service)."""

    model_config = ConfigDict(extra="forbid")

    pages: int = 0
    upserted: int = 0
    removed: int = 0
    skipped: int = 0
    full_resync: bool = False
    delta_link_saved: bool = False


class SubscriptionRecord(BaseModel):
    """A Graph subscription RoomCal owns (Subscriptions table); only a hash of clientState."""

    model_config = _STORED

    id: str
    tenant_id: TenantId
    room_email: Email
    client_state_hash: str
    expires_at: UtcDateTime
    # url_hash() of the notificationUrl / lifecycleNotificationUrl Graph holds ("" for rows from before keys)
    notification_url_hash: str = ""
    lifecycle_url_hash: str = ""

    def to_entity(self) -> Entity:
        return to_entity(self, "sub", keys.check_key(self.id))

    @classmethod
    def from_entity(cls, entity: Entity) -> SubscriptionRecord:
        return from_entity(cls, entity, id="RowKey")


# ---------------------------------------------------------------- the privacy-safe event


class Attendee(BaseModel):
    model_config = _STORED

    address: str
    type: str = "required"  # required | optional | resource
    response: str = "none"  # none | organizer | tentativelyAccepted | accepted | declined | notResponded


class EventLocation(BaseModel):
    model_config = _STORED

    display_name: str = ""
    email: str | None = None
    location_type: str | None = None


class RecurrencePattern(BaseModel):
    model_config = _STORED

    type: str
    interval: int = 1
    days_of_week: list[str] = Field(default_factory=list)
    day_of_month: int = 0
    month: int = 0
    index: str | None = None
    first_day_of_week: str | None = None


class RecurrenceRange(BaseModel):
    model_config = _STORED

    type: str
    start_date: str | None = None
    end_date: str | None = None
    number_of_occurrences: int = 0
    recurrence_time_zone: str | None = None


class Recurrence(BaseModel):
    model_config = _STORED

    pattern: RecurrencePattern
    range: RecurrenceRange


EventType = Literal["singleInstance", "occurrence", "exception", "seriesMaster"]


class RoomEvent(BaseModel):
    """One booking of a room as RoomCal stores it: the whitelist, nothing else."""

    model_config = _STORED

    tenant_id: TenantId
    room_email: Email
    row_key: str  # keyed hash of the Graph event id (shared.keys.event_row_key)
    event_type: EventType = "singleInstance"
    series_key: str | None = None  # keyed hash of seriesMasterId (own id for a master)
    start_utc: UtcDateTime
    end_utc: UtcDateTime
    start_time_zone: str = "UTC"
    end_time_zone: str = "UTC"
    original_start_utc: UtcDateTime | None = None
    is_all_day: bool = False
    is_cancelled: bool = False
    created_utc: UtcDateTime | None = None
    last_modified_utc: UtcDateTime | None = None
    organizer: str | None = None
    attendees: list[Attendee] = Field(default_factory=list)  # at most sync/row_bounds.MAX_ATTENDEES, rooms first
    attendee_count: int | None = None  # all attendees Graph listed (rooms included), before the bound
    people_count: int | None = None  # of those, the ones that are not resources (meeting size)
    locations: list[EventLocation] = Field(default_factory=list)
    recurrence: Recurrence | None = None
    sensitivity: str = "normal"
    show_as: str = "busy"
    is_online: bool = False
    room_response: str = "none"

    @field_validator("row_key", "series_key")
    @classmethod
    def _safe_key(cls, value: str | None) -> str | None:
        return value if value is None else keys.check_key(value)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.end_utc < self.start_utc:
            raise ValueError("event ends before it starts")
        return self

    @property
    def declined_by_room(self) -> bool:
        return self.room_response == "declined"

    def to_entity(self) -> Entity:
        return to_entity(self, keys.room_partition(self.tenant_id, self.room_email), self.row_key,
                         json_fields=_EVENT_JSON)

    @classmethod
    def from_entity(cls, entity: Entity) -> RoomEvent:
        return from_entity(cls, entity, row_key="RowKey", json_fields=_EVENT_JSON)


_EVENT_JSON = ("attendees", "locations", "recurrence")


# ---------------------------------------------------------------- entity mapping


def to_entity(model: BaseModel, partition_key: str, row_key: str, *, json_fields: tuple[str, ...] = ()) -> Entity:
    """A flat Table entity: JSON strings for ``json_fields``, UTC datetimes, no ``None``s."""
    entity: Entity = {"PartitionKey": keys.check_key(partition_key), "RowKey": keys.check_key(row_key)}
    as_json = model.model_dump(mode="json", include=set(json_fields))
    for name, value in model.model_dump(mode="python").items():
        if value is None:
            continue
        if name in json_fields:
            value = json.dumps(as_json[name], separators=(",", ":"), sort_keys=True)
        elif isinstance(value, Enum):
            value = value.value
        entity[name] = value
    return entity


def from_entity(cls: type[M], entity: Entity, *, json_fields: tuple[str, ...] = (), **from_keys: str) -> M:
    """Inverse of ``to_entity``; ``from_keys`` names fields filled from PartitionKey/RowKey."""
    data = {k: v for k, v in entity.items() if k in cls.model_fields and not k.startswith(("_", "odata"))
            and not (v == "" and cls.model_fields[k].default is None)}  # "" = cleared by a merge (etag_rows)
    for field, key in from_keys.items():
        data[field] = entity[key]
    for name in json_fields:
        if isinstance(data.get(name), str):
            data[name] = json.loads(data[name])
    return cls.model_validate(data)
