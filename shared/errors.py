"""Domain errors, organised by what the caller should do.

    RoomCalError
    ├── ConfigurationError      a setting is missing or wrong: fix the setting, then restart
    ├── InvalidInput            the caller sent something wrong: fix the request (HTTP 400/422)
    │   ├── LifetimeTooLong     Graph refused a subscription expiry: retry with ``max_minutes``
    │   └── EntityRefused       table storage refused a row as too large or malformed: write less
    ├── NotFound                no such tenant / room / resource (HTTP 404)
    │   └── MailboxNotFound     the room's address has no Exchange Online mailbox Graph can read
    ├── Conflict                the request clashes with current state (HTTP 409)
    ├── SignInRequired          the caller has no (or an expired) admin session: sign in (HTTP 401)
    ├── AccessDenied            the caller, or RoomCal at Microsoft, lacks a permission (HTTP 403)
    │   ├── ConsentMissing      the tenant has not (or no longer) consented to RoomCal: ask an admin
    │   └── MailboxAccessDenied the room is outside RoomCal's Exchange RBAC scope: add it to the group
    ├── DeltaTokenExpired       Graph forgot the room's sync state: drop the delta link, resync fully
    └── Transient               safe to retry later
        ├── Throttled           retry after ``retry_after`` seconds
        └── Unavailable         a dependency (Graph, storage) is down or answered 5xx

Every error carries a message a person can act on: what went wrong and what to do.
"""

from __future__ import annotations


class RoomCalError(Exception):
    """Base of every error RoomCal raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, fix: str | None = None, detail: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.detail = detail or {}

    def to_dict(self) -> dict:
        body: dict = {"error": self.code, "message": self.message}
        if self.fix:
            body["fix"] = self.fix
        if self.detail:
            body["detail"] = self.detail
        return body


class ConfigurationError(RoomCalError):
    code = "configuration_error"


class InvalidInput(RoomCalError):
    code = "invalid_input"


class LifetimeTooLong(InvalidInput):
    code = "subscription_lifetime_too_long"

    def __init__(self, message: str, *, max_minutes: int, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.max_minutes = max_minutes


class EntityRefused(InvalidInput):
    code = "entity_refused"


class NotFound(RoomCalError):
    code = "not_found"


class MailboxNotFound(NotFound):
    code = "mailbox_not_found"


class Conflict(RoomCalError):
    code = "conflict"


class SignInRequired(RoomCalError):
    code = "signin_required"


class AccessDenied(RoomCalError):
    code = "access_denied"


class ConsentMissing(AccessDenied):
    code = "consent_missing"


class MailboxAccessDenied(AccessDenied):
    code = "mailbox_access_denied"


class DeltaTokenExpired(RoomCalError):
    code = "delta_token_expired"


class Transient(RoomCalError):
    code = "transient"


class Throttled(Transient):
    code = "throttled"

    def __init__(self, message: str, *, retry_after: float, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(Transient):
    code = "unavailable"
