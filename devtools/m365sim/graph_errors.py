"""Error bodies in the shapes Microsoft documents: Graph's envelope and Entra's token-endpoint JSON.

Graph (concepts/errors.md):
``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``.
Entra (v2-oauth2-client-creds-grant-flow.md): ``{"error", "error_description", "error_codes", "timestamp",
"trace_id", "correlation_id"}`` where the description starts with the AADSTS code and carries the trace ids.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from werkzeug.wrappers import Response


def _now() -> datetime:
    return datetime.now(UTC)


def graph_error_body(code: str, message: str, client_request_id: str | None = None) -> dict:
    inner = {"date": _now().strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4())}
    inner["client-request-id"] = client_request_id or inner["request-id"]
    return {"error": {"code": code, "message": message, "innerError": inner}}


class GraphError(Exception):
    """Raised anywhere in a Graph handler; the server turns it into the documented envelope."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})

    def response(self, client_request_id: str | None = None) -> Response:
        body = graph_error_body(self.code, self.message, client_request_id)
        resp = json_response(body, self.status)
        for k, v in self.headers.items():
            resp.headers[k] = v
        if self.status == 401:
            resp.headers.setdefault("WWW-Authenticate", 'Bearer realm="", authorization_uri="", client_id=""')
        return resp


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, content_type="application/json; odata.metadata=minimal")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


# --- the ones the emulator raises, named so callers do not retype codes and messages -------------------------


def invalid_token(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message)


def access_denied() -> GraphError:
    # concepts/auth-limit-mailbox-access.md documents this body; the 403 status is from secondary sources.
    return GraphError(403, "ErrorAccessDenied", "Access to OData is disabled.")


def access_denied_permissions() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def invalid_user(ident: str) -> GraphError:
    return GraphError(404, "ErrorInvalidUser", f"The requested user '{ident}' is invalid.")


def mailbox_not_enabled() -> GraphError:
    return GraphError(404, "MailboxNotEnabledForRESTAPI", "REST API is not yet supported for this mailbox.")


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def injected_burst(status: int, retry_after: float | None) -> GraphError:
    """The answer of an injected 5xx burst (faults.py), as Graph words 503 and other 5xx."""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if status == 503:
        return GraphError(503, "serviceNotAvailable", "The service is temporarily unavailable.", headers)
    return GraphError(status, "generalException", "An unspecified error has occurred.", headers)


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


# --- Entra -----------------------------------------------------------------------------------------------------


def entra_error(error: str, aadsts: int, text: str, status: int = 400) -> Response:
    now = _now()
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    ts = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": f"AADSTS{aadsts}: {text} Trace ID: {trace} Correlation ID: {corr} Timestamp: {ts}",
        "error_codes": [aadsts],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": f"https://login.microsoftonline.com/error?code={aadsts}",
    }
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
