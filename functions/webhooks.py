"""Graph's doorbells: /api/notifications and /api/lifecycle (anonymous: Graph cannot send keys).

Each answers the validation handshake, or hands the body to the notification service and
answers 202. Nothing here calls Graph; see shared/sync/notifications.py.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import azure.functions as func

from functions.http import handles_errors, json_response
from shared import bootstrap
from shared.errors import InvalidInput
from shared.sync.notifications import NotificationService, PayloadTooLarge, validation_echo

bp = func.Blueprint()


@bp.route(route="notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def graph_notifications(req: func.HttpRequest) -> func.HttpResponse:
    return _doorbell(req, NotificationService.accept_changes)


@bp.route(route="lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def graph_lifecycle(req: func.HttpRequest) -> func.HttpResponse:
    return _doorbell(req, NotificationService.accept_lifecycle)


def _doorbell(req: func.HttpRequest, accept: Callable[[NotificationService, bytes], object]) -> func.HttpResponse:
    token = _validation_token(req)
    if token is not None:
        return _handshake(token)
    try:
        accept(bootstrap.get_services().notifications, req.get_body() or b"")
    except PayloadTooLarge as exc:
        return json_response(exc.to_dict(), 413)
    return func.HttpResponse(status_code=202)


def _handshake(token: str) -> func.HttpResponse:
    """Echo the token as text/plain (never HTML, so a hostile token cannot become markup)."""
    try:
        body, status = validation_echo(token), 200
    except InvalidInput as exc:
        body, status = exc.message, 400
    return func.HttpResponse(body, status_code=status, mimetype="text/plain", charset="utf-8",
                             headers={"X-Content-Type-Options": "nosniff"})


def _validation_token(req: func.HttpRequest) -> str | None:
    """The decoded ``validationToken`` (the host decodes params; fall back to the raw URL)."""
    if "validationToken" in req.params:
        return req.params["validationToken"]
    values = parse_qs(urlsplit(req.url).query, keep_blank_values=True).get("validationToken")
    return values[0] if values else None
