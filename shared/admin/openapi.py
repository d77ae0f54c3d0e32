"""The admin API as an OpenAPI 3.1 document, generated from the declared operations and their pydantic models.

One set of paths, two servers: ``/api`` for operators (``x-functions-key``) and ``/api/session`` for signed-in
admins (the session cookie, plus ``X-CSRF-Token`` on writes). OpenAPI 3.1 schemas are JSON Schema 2020-12,
which is what pydantic emits, so model schemas go into ``components.schemas`` unchanged.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

_PATH_PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")
_REF = "#/components/schemas/{model}"


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: what went wrong and how to fix it."""

    error: str = Field(description="machine-readable code, e.g. invalid_input, signin_required, not_found")
    message: str
    fix: str | None = None
    detail: dict | None = None


class Me(BaseModel):
    """The signed-in admin (GET /api/auth/me)."""

    kind: str
    tenant_id: str | None
    username: str
    name: str
    roles: list[str]
    can_change: bool
    can_read: bool
    csrf: str = Field(description="send it back in X-CSRF-Token on every POST, PATCH and DELETE")


def build_document(operations, *, version: str, base_url: str = "") -> dict:
    models = {ErrorBody, Me}
    for op in operations:
        models.update(m for m in (op.body, op.response) if m is not None)
    _, schemas = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                    ref_template=_REF)
    paths: dict = {}
    for op in operations:
        path = "/" + _PATH_PARAM.sub(r"{\1}", op.route)
        for method in op.methods:
            paths.setdefault(path, {})[method.lower()] = _operation(op, method)
    paths["/auth/me"] = {"get": {"operationId": "signin_me", "summary": "The signed-in admin and the CSRF token",
                                 "servers": [{"url": f"{base_url}/api"}], "security": [{"session": []}],
                                 "responses": {"200": _json("Me"), "401": {"$ref": "#/components/responses/Error"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "RoomCal admin API", "version": version,
                 "description": "Tenants, consent, Exchange RBAC script, rooms, verification, sync, status, "
                                "settings, audit and analytics. Errors: {error, message, fix, detail}."},
        "servers": [{"url": f"{base_url}/api", "description": "operators: a Functions key, every tenant"},
                    {"url": f"{base_url}/api/session",
                     "description": "signed-in admins (Entra): the tenant of their sign-in only"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "session": {"type": "apiKey", "in": "cookie", "name": "roomcal_session",
                            "description": "from /api/auth/signin; writes also need X-CSRF-Token"},
            },
            "responses": {"Error": {"description": "what went wrong and how to fix it", **_json("ErrorBody")}},
        },
        "security": [{"functionKey": []}, {"session": []}],
    }


def _operation(op, method: str) -> dict:
    body = {
        "operationId": op.name if len(op.methods) == 1 else f"{op.name}_{method.lower()}",
        "summary": op.summary.split("\n", 1)[0],
        "tags": [_tag(op.route)],
        "x-roomcal-need": op.need.value,
        "parameters": _parameters(op),
        "responses": {"200": _json(op.response.__name__) if op.response else _untyped(op.content),
                      **{code: {"$ref": "#/components/responses/Error"} for code in ("400", "401", "403", "404")}},
    }
    if op.body is not None:
        body["requestBody"] = {"required": True, **_json(op.body.__name__)}
    elif method in ("POST", "PATCH") and "rooms" in op.route and op.route.endswith("rooms"):
        body["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}},
                                           "text/csv": {"schema": {"type": "string"}}}}
    if not op.sessions:
        body["servers"] = [{"url": "/api", "description": "operators only"}]
        body["security"] = [{"functionKey": []}]
    return body


def _parameters(op) -> list[dict]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in _PATH_PARAM.findall(op.route)]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=_REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def _tag(route: str) -> str:
    parts = route.split("/")
    return parts[2] if len(parts) > 2 and parts[0] == "tenants" else parts[0]


def _json(model: str) -> dict:
    return {"description": "OK", "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}}}


def _untyped(content: str) -> dict:
    """``content``: one or more media types, space-separated (e.g. JSON, CSV and XLSX by ``format=``)."""
    schema = {kind: {"type": "object"} if kind.endswith("json") else {"type": "string"} for kind in content.split()}
    return {"description": "OK", "content": {kind: {"schema": s} for kind, s in schema.items()}}
