"""Queue names and the shapes of the sync engine's queue messages.

Messages are hints, never data: they name a tenant and a room (and, for maintenance, a
subscription id), a reason and a time. No event content, no Graph resource id.

    room-changes              {"tenant", "room", "reason", "at", "attempt"?}
    subscription-maintenance  {"action": "renew"|"recreate", "tenant", "room",
                               "subscription", "reason", "at", "attempt"}
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import keys
from shared.errors import InvalidInput

ROOM_CHANGES = "room-changes"
ROOM_CHANGES_POISON = "room-changes-poison"
SUBSCRIPTION_MAINTENANCE = "subscription-maintenance"

_REASON = re.compile(r"^[a-z_]{1,40}$")
_SUBSCRIPTION_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _checked(normalise, value: str) -> str:
    try:
        return normalise(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """A fixed-width ISO UTC time, as the sync engine writes times into table rows."""
    return utc(moment).isoformat(timespec="microseconds")


def parse_stamp(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return utc(value)
    return utc(datetime.fromisoformat(value)) if isinstance(value, str) and value else None


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tenant: str
    room: str
    reason: str
    at: datetime

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return _checked(keys.normalise_tenant_id, value)

    @field_validator("room")
    @classmethod
    def _room(cls, value: str) -> str:
        return _checked(keys.normalise_email, value)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not _REASON.match(value):
            raise ValueError("reason must be a short lower-case word")
        return value

    @field_validator("at")
    @classmethod
    def _at(cls, value: datetime) -> datetime:
        return utc(value)

    def to_payload(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True)


class RoomChange(_Message):
    """A hint that a room's calendar may have changed: run (or coalesce into) a delta round."""

    attempt: int = Field(default=0, ge=0, le=1000)


class SubscriptionMaintenance(_Message):
    """Renew or recreate one room's Graph subscription (then, for recreate, catch up)."""

    action: Literal["renew", "recreate"]
    subscription: str = ""
    attempt: int = Field(default=0, ge=0, le=1000)

    @field_validator("subscription")
    @classmethod
    def _subscription(cls, value: str) -> str:
        if value and not _SUBSCRIPTION_ID.match(value):
            raise ValueError("subscription must be a subscription id")
        return value


def is_subscription_id(value: object) -> bool:
    return isinstance(value, str) and bool(_SUBSCRIPTION_ID.match(value))
