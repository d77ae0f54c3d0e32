"""The one place where a Microsoft Graph error answer becomes a RoomCal domain error.

Graph's envelope (https://learn.microsoft.com/graph/errors):
``{"error": {"code", "message", "innerError": {"request-id", "client-request-id", "date", "code"?}}}``.
Codes are matched case-insensitively over the whole nested ``innerError`` chain, never on the
message. Every error keeps Graph's request id (and our client-request-id, the date) in
``detail`` so an operator can quote it to Microsoft support.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from shared.errors import (
    AccessDenied,
    Conflict,
    DeltaTokenExpired,
    InvalidInput,
    LifetimeTooLong,
    MailboxAccessDenied,
    MailboxNotFound,
    NotFound,
    RoomCalError,
    Throttled,
    Unavailable,
)

DELTA_EXPIRED_CODES = {"syncstatenotfound", "resyncrequired", "syncstateinvalid"}
MAILBOX_DENIED_CODES = {"erroraccessdenied", "accessdenied"}
MAILBOX_MISSING_CODES = {"errorinvaliduser", "mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi",
                         "resourcenotfound"}
RBAC_FIX = ("add the room mailbox to the mail-enabled security group that RoomCal's Exchange management scope "
            "filters on (MemberOfGroup), then allow up to 2 hours for Exchange's permission cache; "
            "Test-ServicePrincipalAuthorization -Identity <app> -Resource <room> shows InScope")
MAX_RETRY_AFTER_SECONDS = 86_400.0
MAILBOX_FIX = ("check that the address is the room's primary SMTP address and that the room mailbox is in "
               "Exchange Online (on-premises and unlicensed mailboxes cannot be read through Graph)")


def retry_after_seconds(headers: Any) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None when absent/invalid.

    Bounded to [0, one day]: the value ends up in int() calls and queue visibility delays."""
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            return None
        # An HTTP-date is always GMT; '-0000' makes email.utils return it naive.
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):  # 'inf', 'nan', '1e309': not a wait anyone can honour
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS)


def error_details(status: int, body: Any, headers: Any) -> tuple[set[str], dict]:
    """(lower-case codes along the innerError chain, detail dict) of one Graph error answer."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    codes: list[str] = []
    request_id = client_request_id = date = None
    node: Any = error
    while isinstance(node, dict):
        if isinstance(node.get("code"), str):
            codes.append(node["code"])
        request_id = request_id or node.get("request-id")
        client_request_id = client_request_id or node.get("client-request-id")
        date = date or node.get("date")
        node = node.get("innerError") or node.get("innererror")
    headers = headers or {}
    # Graph's free-text message is left out on purpose: it can quote addresses and values, and this
    # detail reaches HTTP responses and logs. The code and request id are what Microsoft support needs.
    detail = {
        "http_status": status,
        "code": codes[0] if codes else None,
        "request_id": request_id or headers.get("request-id"),
        "client_request_id": client_request_id or headers.get("client-request-id"),
        "date": date or headers.get("Date"),
    }
    return {c.lower() for c in codes}, {k: v for k, v in detail.items() if v is not None}


# The subscription service wraps Exchange's answer into its message: the code alone says nothing, so here (and
# only here) the message is read. Observed: "Operation: Create; Exception: [Status Code: Forbidden; Reason:
# Forbidden]" (docs-contrib issue 7625, a room calendar), "[Status Code: NotFound; Reason: REST API is not yet
# supported for this mailbox.]" (issue 5988), "Subscription expiration can only be 4230 minutes in the future."
# (issue 7726).
_WRAPPED_STATUS = re.compile(r"Status Code:\s*(\w+)", re.IGNORECASE)
_LIFETIME = re.compile(r"expiration can only be (\d+) minutes in the future", re.IGNORECASE)


def _graph_message(body: Any) -> str:
    """Graph's free-text message, read only to classify a wrapped error; never copied into ``detail``."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message[:2000] if isinstance(message, str) else ""


def _extension_error(message: str, detail: dict, mailbox: str | None) -> RoomCalError | None:
    lifetime = _LIFETIME.search(message)
    if lifetime:
        minutes = int(lifetime.group(1))
        return LifetimeTooLong(f"Microsoft Graph allows subscriptions at most {minutes} minutes ahead",
                               max_minutes=minutes, fix=f"RoomCal retries with {minutes} minutes", detail=detail)
    wrapped = _WRAPPED_STATUS.search(message)
    inner = wrapped.group(1).lower() if wrapped else ""
    if inner == "forbidden" and mailbox and "limit" not in message.lower():  # the per-mailbox quota says "limit"
        return MailboxAccessDenied(
            f"room mailbox {mailbox} is outside the application's Exchange RBAC scope: add it to the scope's group",
            fix=RBAC_FIX, detail=detail)
    if inner == "notfound" and mailbox:
        return MailboxNotFound(f"room mailbox {mailbox} was not found in Exchange Online or is not enabled "
                               "for Microsoft Graph", fix=MAILBOX_FIX, detail=detail)
    return None


def map_graph_error(status: int, body: Any, headers: Any = None, *, mailbox: str | None = None) -> RoomCalError:
    """The domain error for a Graph answer with ``status`` >= 400."""
    codes, detail = error_details(status, body, headers)
    code = detail.get("code", "no code")
    if mailbox:
        detail["room"] = mailbox
    if "extensionerror" in codes and 400 <= status < 500:
        wrapped = _extension_error(_graph_message(body), detail, mailbox)
        if wrapped is not None:
            return wrapped
    if status == 410 or codes & DELTA_EXPIRED_CODES:
        return DeltaTokenExpired("Microsoft Graph no longer has this room's sync state (the delta token expired)",
                                 fix="drop the stored delta link and run a full resync of the room", detail=detail)
    if status == 429:
        retry_after = retry_after_seconds(headers) or 0.0
        return Throttled("Microsoft Graph is throttling requests for this mailbox", retry_after=retry_after,
                         fix="retry after retry_after seconds", detail=detail)
    if status == 401:
        return AccessDenied("Microsoft Graph rejected RoomCal's access token",
                            fix="check the tenant's admin consent and RoomCal's app credentials", detail=detail)
    if status == 403:
        if mailbox and codes & MAILBOX_DENIED_CODES:
            return MailboxAccessDenied(
                f"room mailbox {mailbox} is outside the application's Exchange RBAC scope: add it to the scope's group",
                fix=RBAC_FIX, detail=detail)
        return AccessDenied(f"Microsoft Graph denied the request ({code})",
                            fix="check that the tenant granted admin consent for Calendars.ReadWrite and "
                            "Place.Read.All", detail=detail)
    if status == 404:
        if mailbox and codes & MAILBOX_MISSING_CODES:
            return MailboxNotFound(f"room mailbox {mailbox} was not found in Exchange Online or is not enabled "
                                   "for Microsoft Graph", fix=MAILBOX_FIX, detail=detail)
        return NotFound(f"Microsoft Graph has no such item ({code}); it may have been deleted", detail=detail)
    if status in (409, 412):
        return Conflict(f"Microsoft Graph reported a conflict ({code})", detail=detail)
    if 400 <= status < 500:
        return InvalidInput(f"Microsoft Graph rejected the request ({code})", detail=detail)
    if status in (503, 504) and retry_after_seconds(headers) is not None:
        return Throttled(f"Microsoft Graph is busy ({status})", retry_after=retry_after_seconds(headers) or 0.0,
                         fix="retry after retry_after seconds", detail=detail)
    return Unavailable(f"Microsoft Graph answered {status} ({code})", fix="retry later", detail=detail)


def map_response(response: requests.Response, *, mailbox: str | None = None) -> RoomCalError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return map_graph_error(response.status_code, body, response.headers, mailbox=mailbox)
