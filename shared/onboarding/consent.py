"""Admin consent: one-time ``state`` nonces, Microsoft's consent URL, and the callback.

ConsentRequests table: PartitionKey ``consent``, RowKey the nonce; kind (admin / request),
tenant_hint, created_by, created_at, expires_at, used, used_at. A nonce is consumed with an
etag-conditional merge, so two submits of one redirect cannot both succeed.

The ``tenant`` in Microsoft's redirect can be forged: a tenant is recorded as consented
only once RoomCal actually obtains an app token for it (``TokenSource``).
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import Conflict, InvalidInput, NotFound, RoomCalError
from shared.log import log_event
from shared.models import TenantStatus
from shared.onboarding import tenants
from shared.onboarding.consent_messages import START_AGAIN, outcome_for_error
from shared.onboarding.consent_outcome import ConsentOutcome
from shared.ops import audit
from shared.ports import TokenSource

log = logging.getLogger("roomcal.consent")

TABLE = "ConsentRequests"
_PARTITION = "consent"
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
_STATE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
TENANT_WIDE_CALENDAR_ROLES = {"Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic.All",
                              "Calendars.ReadBasic", "Calendars.Read.All", "Calendars.ReadWrite.All"}


class CallbackParams(BaseModel):
    """Query parameters Microsoft appends to the redirect URI (success or error)."""

    model_config = ConfigDict(extra="ignore")

    state: str | None = Field(default=None, max_length=200)
    tenant: str | None = Field(default=None, max_length=200)
    admin_consent: str | None = Field(default=None, max_length=20)
    error: str | None = Field(default=None, max_length=200)
    error_description: str | None = Field(default=None, max_length=2000)


def normalise_tenant_hint(value: str | None) -> str | None:
    """A tenant GUID or a verified domain (contoso.onmicrosoft.com); None means 'organizations'."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if text in {"common", "consumers", "organizations"} or not _DOMAIN.match(text):
        raise InvalidInput("tenant must be a tenant id (GUID) or a domain such as contoso.onmicrosoft.com",
                           fix="leave it out to let the admin pick their organisation at Microsoft")
    return text


def tenant_wide_calendar_roles(roles: list[str]) -> list[str]:
    return sorted(r for r in roles if r in TENANT_WIDE_CALENDAR_ROLES or r.startswith("Calendars."))


class ConsentService:
    def __init__(self, *, tables, clock, tokens: TokenSource, client_id: str, login_base_url: str,
                 public_base_url: str, ttl: timedelta = timedelta(minutes=30),
                 graph_scope: str = GRAPH_DEFAULT_SCOPE) -> None:
        self._tables, self._clock, self._tokens = tables, clock, tokens
        self._scope = graph_scope  # national clouds consent to their own Graph host (shared/clouds.py)
        self._client_id, self._login, self._public = client_id, login_base_url.rstrip("/"), public_base_url.rstrip("/")
        self._ttl = ttl

    @property
    def redirect_uri(self) -> str:
        return f"{self._public}/api/consent/callback"

    def start(self, *, tenant_hint: str | None, created_by: str, reonboard: bool = False) -> dict:
        """Two links, each with its own one-time state: one to follow now, one to hand to an admin.
        With a tenant id as hint both links are bound to it: a consent from any other tenant is refused."""
        if not self._client_id:
            raise InvalidInput("RoomCal has no client id configured", fix="set ROOMCAL_CLIENT_ID")
        hint = normalise_tenant_hint(tenant_hint)
        admin_url, expires_at = self._new_link(hint, created_by, "admin", reonboard)
        request_url, _ = self._new_link(hint, created_by, "request", reonboard)
        return {
            "consent_url": admin_url,
            "request_consent": {"url": request_url, "message": _request_message(request_url, expires_at)},
            "tenant_hint": hint,
            "expires_at": expires_at.isoformat(),
            "redirect_uri": self.redirect_uri,
        }

    def _new_link(self, hint: str | None, created_by: str, kind: str, reonboard: bool) -> tuple[str, datetime]:
        state = secrets.token_urlsafe(32)
        now = self._clock.now()
        expires_at = now + self._ttl
        self._tables.upsert(TABLE, {
            "PartitionKey": _PARTITION, "RowKey": state, "kind": kind, "tenant_hint": hint or "",
            "created_by": created_by or "unknown", "created_at": now.isoformat(),
            "expires_at": expires_at.isoformat(), "used": False, "reonboard": reonboard,
        })
        query = urlencode({"client_id": self._client_id, "scope": self._scope,
                           "redirect_uri": self.redirect_uri, "state": state})
        return f"{self._login}/{quote(hint or 'organizations', safe='')}/v2.0/adminconsent?{query}", expires_at

    def handle_callback(self, params: CallbackParams) -> ConsentOutcome:
        request, problem = self._consume(params.state)
        if problem:
            return problem
        if params.error:
            outcome = outcome_for_error(params.error, params.error_description)
            log_event(log, "admin consent returned an error", level=logging.WARNING, error=outcome.error)
            return outcome
        return self._confirm(params.tenant, request)

    def _consume(self, state: str | None) -> tuple[dict | None, ConsentOutcome | None]:
        if not state or not _STATE.match(state):
            return None, _bad_state("This consent link is not valid", "The link carries no RoomCal request.")
        try:
            row = self._tables.get(TABLE, _PARTITION, state)
        except NotFound:
            return None, _bad_state("This consent link is not valid",
                                    "RoomCal did not issue this request (or it was cleaned up).")
        if row.get("used"):
            return None, _bad_state("This consent link was already used", "Each link works once.")
        if datetime.fromisoformat(row["expires_at"]) <= self._clock.now():
            return None, _bad_state("This consent link has expired", "Links are valid for a limited time.")
        try:
            self._tables.merge(TABLE, {"PartitionKey": _PARTITION, "RowKey": state, "used": True,
                                       "used_at": self._clock.now().isoformat()}, etag=row.get("_etag"))
        except (Conflict, NotFound):
            return None, _bad_state("This consent link was already used", "Each link works once.")
        return row, None

    def _confirm(self, tenant: str | None, request: dict) -> ConsentOutcome:
        try:
            tenant_id = str(uuid.UUID((tenant or "").strip()))
        except ValueError:
            return ConsentOutcome.failed("Microsoft did not say which tenant consented",
                                         "The redirect had no valid tenant id.", [START_AGAIN], error="no_tenant")
        hint = request.get("tenant_hint") or ""
        if _is_guid(hint) and hint != tenant_id:
            return ConsentOutcome.failed(
                "Consent came from a different tenant than requested",
                f"The link was made for tenant {hint}, but the consent came from another one.",
                ["Sign in with an admin account of the intended organisation. " + START_AGAIN],
                error="tenant_mismatch")
        if _offboarded(self._tables, tenant_id) and not request.get("reonboard"):
            return ConsentOutcome.failed(
                "This organisation was offboarded from RoomCal",
                "A consent does not connect an offboarded organisation again; nothing was recorded.",
                ["To connect it again, an admin chooses 'Connect again' on RoomCal's admin page "
                 "(POST /api/tenants with reonboard: true) and consents with that link."],
                error="tenant_offboarded")
        # A token cached before this consent proves nothing about it (consent may have been revoked
        # since) and carries the roles of the old grant: ask Entra for a fresh one.
        self._tokens.forget(tenant_id)
        try:
            self._tokens.token(tenant_id)
            roles = list(self._tokens.roles(tenant_id))
        except RoomCalError as exc:
            log_event(log, "no app token after consent", level=logging.WARNING, tenant=tenant_id, code=exc.code)
            return ConsentOutcome.failed(
                "RoomCal could not sign in to this tenant",
                "Microsoft did not issue RoomCal a token for the tenant, so nothing was recorded. "
                "Consent can take a minute to take effect.",
                ["Wait a minute, then open a fresh consent link and accept again (this is safe to repeat)."],
                error=exc.code)
        tenants.mark_consented(self._tables, self._clock, tenant_id)
        audit.record(self._tables, self._clock, tenant_id=tenant_id, action="consent.granted",
                     actor=request.get("created_by") or "unknown", detail={"roles": sorted(roles)})
        return ConsentOutcome(ok=True, tenant_id=tenant_id, title="RoomCal is installed in your tenant",
                              message="Admin consent is done. RoomCal cannot read any calendar yet.",
                              next_steps=_next_steps(tenant_id), warnings=_role_warnings(roles))


_GONE = {TenantStatus.offboarded.value, "offboarding"}  # "offboarding": while its data is being deleted


def _offboarded(tables, tenant_id: str) -> bool:
    try:
        return str(tenants.load(tables, tenant_id).status) in _GONE
    except NotFound:
        return False


def _is_guid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def invalid_callback() -> ConsentOutcome:
    """The page for a callback whose parameters are not what Microsoft sends (e.g. far too long)."""
    return _bad_state("This consent link is not valid",
                      "The address carries parameters Microsoft's redirect does not send.")


def _bad_state(title: str, why: str) -> tuple[None, ConsentOutcome]:
    return ConsentOutcome.failed(title, why + " Nothing was recorded.", [START_AGAIN], error="invalid_state")


def _next_steps(tenant_id: str) -> list[str]:
    return [
        f"Step 2: download the Exchange RBAC script (GET /api/tenants/{tenant_id}/rbac-script?scope=group&group=...) "
        "and have an Exchange admin run it; it limits RoomCal to room mailboxes.",
        "Step 3: register the rooms' e-mail addresses, then choose 'Continue setup' to check access "
        "(Exchange may take 30 minutes to 2 hours to apply RBAC changes).",
    ]


def _role_warnings(roles: list[str]) -> list[str]:
    calendar = tenant_wide_calendar_roles(roles)
    if not calendar:
        return []
    return [f"RoomCal's token carries tenant-wide {', '.join(calendar)}: that grants every mailbox and "
            "silently defeats the room-only RBAC scope. Remove these permissions from RoomCal's enterprise "
            "application (Entra admin centre > Enterprise applications > RoomCal > Permissions)."]


def _request_message(url: str, expires_at: datetime) -> str:
    return (
        "Hello,\n\nPlease install RoomCal in our Microsoft 365 tenant. It needs admin consent, which only a "
        "Microsoft admin (Global, Application or Cloud Application Administrator) can give. RoomCal asks for "
        "directory read access to list meeting rooms; it gets no calendar access until an Exchange admin "
        "grants it for room mailboxes only.\n\n"
        f"Open this link, sign in and choose Accept:\n{url}\n\n"
        f"The link works once and expires at {expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
