"""Graph's doorbells: /api/notifications and /api/lifecycle, authLevel function.

The Functions host refuses a request without the endpoint's key (``?code=``, in the URLs RoomCal registers:
shared/sync/webhook_urls.py) before any of this runs. Each answers the validation handshake, or hands the body
to the notification service and answers 202. Nothing here calls Graph; see shared/sync/notifications.py.

The functions are ``async``: the Python worker runs them on its event loop, not in the thread pool where its
synchronous invocations (the sync engine's queue triggers) wait their turn, so an acknowledgement does not
queue behind them when both run in one worker.

Hints leave through the host's queue output bindings: the host writes them after the function returns and
before it answers, so 202 still means "stored", a storage outage fails the invocation (the host answers 500
and Graph retries), and the host wakes its own room-changes listener at once. A hint that must stay invisible
for a while (the hint gate's delayed follow-up) cannot go through a binding (it has no initial visibility),
so it is written by the app's queue adapter, whose outage answers 503.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import azure.functions as func

from functions.http import handles_errors, json_response
from shared import bootstrap
from shared.errors import InvalidInput
from shared.messages import ROOM_CHANGES, SUBSCRIPTION_MAINTENANCE
from shared.ports import MessageQueue
from shared.sync.notifications import MAX_BODY_BYTES, NotificationService, PayloadTooLarge, validation_echo

bp = func.Blueprint()
_CONNECTION = "AzureWebJobsStorage"


@bp.route(route="notifications", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="hints", queue_name=ROOM_CHANGES, connection=_CONNECTION)
@handles_errors
async def graph_notifications(req: func.HttpRequest, hints: func.Out[list[str]]) -> func.HttpResponse:
    return await _doorbell(req, NotificationService.accept_changes, {ROOM_CHANGES: hints})


@bp.route(route="lifecycle", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.queue_output(arg_name="changes", queue_name=ROOM_CHANGES, connection=_CONNECTION)
@bp.queue_output(arg_name="maintenance", queue_name=SUBSCRIPTION_MAINTENANCE, connection=_CONNECTION)
@handles_errors
async def graph_lifecycle(req: func.HttpRequest, changes: func.Out[list[str]],
                          maintenance: func.Out[list[str]]) -> func.HttpResponse:
    return await _doorbell(req, NotificationService.accept_lifecycle, {ROOM_CHANGES: changes,
                                                                       SUBSCRIPTION_MAINTENANCE: maintenance})


class OutputBindings:
    """The MessageQueue port over the function's queue output bindings: undelayed messages are collected
    and handed to the host; delayed ones go to the app's own adapter (a binding cannot delay)."""

    def __init__(self, outputs: dict[str, func.Out], fallback: MessageQueue) -> None:
        self._outputs, self._fallback = outputs, fallback
        self._collected: dict[str, list[str]] = {name: [] for name in outputs}

    def send(self, queue: str, payload: dict, *, delay_seconds: int = 0) -> None:
        if delay_seconds or queue not in self._outputs:
            self._fallback.send(queue, payload, delay_seconds=delay_seconds)
            return
        self._collected[queue].append(json.dumps(payload, separators=(",", ":"), sort_keys=True))

    def ping(self) -> None:
        self._fallback.ping()

    def flush(self) -> None:
        for queue, messages in self._collected.items():
            if messages:
                self._outputs[queue].set(messages)


async def _doorbell(req: func.HttpRequest, accept: Callable[..., object],
                    outputs: dict[str, func.Out]) -> func.HttpResponse:
    token = _validation_token(req)
    if token is not None:
        return _handshake(token)
    declared = _content_length(req)
    if declared is not None and declared > MAX_BODY_BYTES:  # refused on the header, before the body is touched
        return json_response(PayloadTooLarge(f"notification body over {MAX_BODY_BYTES} bytes").to_dict(), 413)
    services = bootstrap.get_services()
    queues = OutputBindings(outputs, services.doorbell_queues or services.queues)
    try:
        # Off the event loop: a cache miss reads a table, a delayed hint is written by the SDK (both blocking).
        # The loop's own executor, not the worker's pool of sync invocations, so an acknowledgement never
        # waits behind the queue functions that run in this worker (docs/performance.md).
        await asyncio.to_thread(accept, services.notifications, req.get_body() or b"", queues)
    except PayloadTooLarge as exc:
        return json_response(exc.to_dict(), 413)
    queues.flush()
    return func.HttpResponse(status_code=202)


def _content_length(req: func.HttpRequest) -> int | None:
    raw = req.headers.get("Content-Length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        raise InvalidInput("Content-Length is not a number") from None


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
