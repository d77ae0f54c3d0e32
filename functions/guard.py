"""The one decorator every admin HTTP endpoint goes through (``admin_api``).

It registers the handler twice, from one declaration:

* ``/api/<route>``, authLevel ``function``: operators. The Functions host has checked the key before
  the code runs (the code cannot see which key), so the caller is an operator: every tenant.
* ``/api/session/<route>``, authLevel ``anonymous``: the admin page. The caller is the Entra identity in
  the session cookie; the route's ``{tenant_id}`` must be the token's ``tid`` (else 404), the app role
  must allow ``need`` (else 403), and a state-changing request must carry the session's CSRF token.

The handler sees the validated caller through ``current_principal()`` (``actor_of`` uses it). Each
declaration is also recorded for the OpenAPI document (shared.admin.openapi).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import azure.functions as func
from pydantic import BaseModel

from functions.http import handles_errors
from shared import bootstrap
from shared.admin import signouts
from shared.admin.authorise import authorise, check_csrf
from shared.admin.principal import OPERATOR, Need, Principal
from shared.errors import SignInRequired

SESSION_PREFIX = "session"
_CURRENT: ContextVar[Principal | None] = ContextVar("roomcal_principal", default=None)


@dataclass(frozen=True)
class Operation:
    """One admin endpoint as declared: what OpenAPI describes and the isolation test walks."""

    name: str
    route: str
    methods: tuple[str, ...]
    need: Need
    summary: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    content: str = "application/json"

    @property
    def sessions(self) -> bool:
        return self.need is not Need.operator

    @property
    def tenant_scoped(self) -> bool:
        return "{tenant_id}" in self.route


OPERATIONS: list[Operation] = []


def current_principal() -> Principal | None:
    return _CURRENT.get()


def admin_api(bp: func.Blueprint, route: str, methods: list[str], *, need: Need, summary: str = "",
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, content: str = "application/json",
              key_level: func.AuthLevel = func.AuthLevel.FUNCTION):
    """Declare an admin endpoint: ``@admin_api(bp, "tenants/{tenant_id}/rooms", ["GET"], need=Need.read)``.
    ``key_level=ADMIN`` (the master key) only for deployment-wide operator actions."""
    if key_level is not func.AuthLevel.FUNCTION and need is not Need.operator:
        raise ValueError("only operator endpoints may ask for another key level")

    def decorate(handler: Callable[[func.HttpRequest], func.HttpResponse]):
        op = Operation(handler.__name__, route, tuple(methods), need, summary or (handler.__doc__ or "").strip(),
                       body, query, response, content)
        OPERATIONS.append(op)
        if op.sessions:
            session_fn = _guarded(handler, op, via_session=True)
            session_fn.__name__ = session_fn.__qualname__ = f"{handler.__name__}_session"
            bp.function_name(name=session_fn.__name__)(
                bp.route(route=f"{SESSION_PREFIX}/{route}", methods=methods,
                         auth_level=func.AuthLevel.ANONYMOUS)(session_fn))
        return bp.route(route=route, methods=methods, auth_level=key_level)(
            _guarded(handler, op, via_session=False))

    return decorate


def _guarded(handler, op: Operation, *, via_session: bool):
    @handles_errors
    def run(req: func.HttpRequest) -> func.HttpResponse:
        principal = _session_principal(req) if via_session else OPERATOR
        authorise(principal, op.need, req.route_params.get("tenant_id") if op.tenant_scoped else None)
        if via_session:
            check_csrf(principal, req.method, req.headers, bootstrap.get_admin_access().public_base_url)
        token = _CURRENT.set(principal)
        try:
            response = handler(req)
        finally:
            _CURRENT.reset(token)
        if via_session and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    functools.update_wrapper(run, handler)
    del run.__wrapped__  # the host and tests must call the guard, never the bare handler
    run.__signature__ = inspect.signature(handler)  # (req) only: the host binds every parameter it sees
    run.roomcal_operation = op
    return run


def read_session(req: func.HttpRequest) -> Principal | None:
    """The signed-in admin of the request's session cookie, unless absent, invalid, expired or signed out."""
    principal = bootstrap.get_admin_access().sessions.principal(req.headers.get("cookie"))
    if principal is None or signouts.signed_out(bootstrap.get_services().tables, principal):
        return None
    return principal


def _session_principal(req: func.HttpRequest) -> Principal:
    principal = read_session(req)
    if principal is None:
        raise SignInRequired("sign in to RoomCal first (no session, or it has expired)",
                             fix="open /api/auth/signin and sign in with your work account")
    return principal
