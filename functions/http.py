"""HTTP helpers shared by every blueprint: JSON responses and one error-to-status table."""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable

import azure.functions as func
from pydantic import BaseModel, ValidationError

from shared import errors

log = logging.getLogger("roomcal.http")

STATUS_FOR_ERROR: list[tuple[type[errors.RoomCalError], int]] = [
    (errors.InvalidInput, 400),
    (errors.SignInRequired, 401),
    (errors.AccessDenied, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Throttled, 429),
    (errors.Unavailable, 503),
    (errors.ConfigurationError, 500),
    (errors.RoomCalError, 500),
]


def json_response(body: object, status: int = 200, headers: dict | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, default=str), status_code=status, mimetype="application/json", headers=headers
    )


def error_response(exc: errors.RoomCalError) -> func.HttpResponse:
    status = next(code for kind, code in STATUS_FOR_ERROR if isinstance(exc, kind))
    headers = {"Retry-After": str(int(exc.retry_after))} if isinstance(exc, errors.Throttled) else None
    return json_response(exc.to_dict(), status, headers)


def parse_json(req: func.HttpRequest, model: type[BaseModel]) -> BaseModel:
    """Validate a JSON body against ``model``; bad input becomes InvalidInput naming each field."""
    try:
        raw = req.get_json()
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's stack
        raise errors.InvalidInput("request body is not valid JSON", fix="send a JSON object") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise errors.InvalidInput(
            "request body is invalid",
            fix="correct the fields listed in detail",
            detail={".".join(map(str, e["loc"])) or "body": e["msg"] for e in exc.errors()},
        ) from None


def handles_errors(fn: Callable[..., func.HttpResponse]):
    """Map domain errors to their HTTP status with a JSON body; never leak a stack trace.
    Other arguments (output bindings) pass through; the signature stays the function's own."""

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def awaiting(req: func.HttpRequest, *args, **kwargs) -> func.HttpResponse:
            try:
                return await fn(req, *args, **kwargs)
            except Exception as exc:
                return _error_answer(fn, exc)

        return awaiting

    @functools.wraps(fn)
    def wrapper(req: func.HttpRequest, *args, **kwargs) -> func.HttpResponse:
        try:
            return fn(req, *args, **kwargs)
        except Exception as exc:
            return _error_answer(fn, exc)

    return wrapper


def _error_answer(fn: Callable, exc: Exception) -> func.HttpResponse:
    if isinstance(exc, errors.RoomCalError):
        if not isinstance(exc, errors.InvalidInput | errors.NotFound):
            log.warning("request failed: %s (%s)", exc.code, exc.message)
        return error_response(exc)
    if isinstance(exc, RecursionError):  # input nested too deep for a parser: the caller's fault, no traceback
        return error_response(errors.InvalidInput("request is nested too deeply", fix="send a flat JSON object or CSV"))
    log.exception("unexpected error in %s", fn.__name__, exc_info=exc)
    return json_response({"error": "internal_error", "message": "unexpected error; see the logs"}, 500)


def parse_query(req: func.HttpRequest, model: type[BaseModel]) -> BaseModel:
    """Validate query parameters against ``model``; bad input becomes InvalidInput naming each one."""
    try:
        return model.model_validate(dict(req.params))
    except ValidationError as exc:
        raise errors.InvalidInput(
            "query parameters are invalid",
            fix="correct the parameters listed in detail",
            detail={".".join(map(str, e["loc"])) or "query": e["msg"] for e in exc.errors()},
        ) from None


def actor_of(req: func.HttpRequest) -> str:
    """Who is calling, for the audit: the identity functions.guard validated, never a request header.

    An endpoint outside the guard can only be reached with a Functions key, hence the fallback."""
    from functions.guard import current_principal

    principal = current_principal()
    return principal.actor if principal else "operator (Functions key)"
