"""Entra ID: OpenID metadata, JWKS and ``/oauth2/v2.0/token`` (client credentials; authorization code via signin).

entra-docs v2-oauth2-client-creds-grant-flow.md / v2-protocols-oidc.md. Errors use Entra's
JSON shape with AADSTS codes. ``invalid_client`` answers 401 like Entra; other errors 400.
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import unquote

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from . import managed_identity, signin
from .graph_errors import entra_error
from .tokens import AssertionError_, check_client_assertion
from .world import GRAPH_RESOURCE, Tenant

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MULTI = ("common", "organizations", "consumers")


def rules() -> list[Rule]:
    return [
        Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint=openid_configuration, methods=["GET"]),
        Rule("/<tenant>/.well-known/openid-configuration", endpoint=openid_configuration, methods=["GET"]),
        Rule("/<tenant>/discovery/v2.0/keys", endpoint=jwks, methods=["GET"]),
        Rule("/<tenant>/discovery/keys", endpoint=jwks, methods=["GET"]),
        Rule("/<tenant>/oauth2/v2.0/token", endpoint=token, methods=["POST"]),
    ]


def tenant_not_found(ident: str) -> Response:
    return entra_error(
        "invalid_request",
        90002,
        f"Tenant '{ident}' not found. Check to make sure you have the correct "
        "tenant ID and are signing into the correct cloud.",
    )


def _json(body: dict) -> Response:
    return Response(
        json.dumps(body),
        content_type="application/json; charset=utf-8",
        headers={"Cache-Control": "max-age=86400, private", "Access-Control-Allow-Origin": "*"},
    )


def openid_configuration(sim, request: Request, tenant: str) -> Response:
    with sim.world.lock:
        t = sim.world.tenant(tenant)
    if t is None and tenant.lower() not in MULTI:
        return tenant_not_found(tenant)
    base, path_tid = sim.base_url, (t.id if t else tenant.lower())
    issuer = f"{base}/{t.id}/v2.0" if t else f"{base}/{{tenantid}}/v2.0"
    return _json(
        {
            "token_endpoint": f"{base}/{path_tid}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{path_tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{path_tid}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{path_tid}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{path_tid}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
                "oid",
                "roles",
            ],
            "kerberos_endpoint": f"{base}/{path_tid}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
    )


def jwks(sim, request: Request, tenant: str) -> Response:
    return _json(sim.tokens.jwks())


def client_credentials_of(request: Request) -> tuple[str, str | None, str | None, str | None]:
    """(client_id, client_secret, assertion_type, assertion) from the form or HTTP Basic auth."""
    form = request.form
    cid, secret = form.get("client_id", ""), form.get("client_secret")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user, _, pwd = base64.b64decode(auth[6:]).decode().partition(":")
            cid, secret = unquote(user) or cid, unquote(pwd)
        except ValueError:
            pass
    return cid, secret, form.get("client_assertion_type"), form.get("client_assertion")


def authenticate_client(sim, request: Request, t: Tenant) -> Response | None:
    """Check the app's credential (secret or certificate assertion); None when it is good."""
    app = sim.world.app
    cid, secret, atype, assertion = client_credentials_of(request)
    if assertion:
        if atype != JWT_BEARER:
            return entra_error("invalid_request", 50027, f"Invalid client_assertion_type; expected '{JWT_BEARER}'.")
        if managed_identity.is_federated(assertion, cid):
            try:
                managed_identity.check_federated_assertion(sim, assertion, app.federated_credentials)
            except AssertionError_ as err:
                return entra_error("invalid_client", err.aadsts, err.text, 401)
            return None
        try:
            check_client_assertion(
                assertion, cid, f"{sim.base_url}{request.path}", app.certificate_pems, sim.world.clock.now()
            )
        except AssertionError_ as err:
            return entra_error("invalid_client", err.aadsts, err.text, 401)
        return None
    if secret is None:
        return entra_error(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            401,
        )
    if secret not in app.secrets:
        return entra_error(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent "
            "in the request is the client secret value, not the client secret ID, for a secret added "
            f"to app '{app.client_id}'.",
            401,
        )
    return None


def app_not_in_tenant(cid: str, t: Tenant) -> Response:
    return entra_error(
        "unauthorized_client",
        700016,
        f"Application with identifier '{cid}' was not found in the "
        f"directory '{t.name}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have sent "
        "your authentication request to the wrong tenant.",
    )


def token(sim, request: Request, tenant: str) -> Response:
    s, faults = sim.world.settings, sim.faults
    if s.token_latency_ms:
        time.sleep(s.token_latency_ms / 1000)
    status = faults.take_token_failure()
    if status:
        return entra_error(
            "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.", status
        )
    grant = request.form.get("grant_type")
    if not grant:
        return entra_error(
            "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
        )
    with sim.world.lock:
        t = sim.world.tenant(tenant)
    if t is None:
        if tenant.lower() in MULTI and grant == "client_credentials":
            return entra_error(
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by any provided credentials.",
            )
        if tenant.lower() not in MULTI:
            return tenant_not_found(tenant)
    if grant == "authorization_code":
        return signin.redeem_code(sim, request, tenant)
    if grant != "client_credentials":
        return entra_error("unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'.")
    app = sim.world.app
    cid = client_credentials_of(request)[0]
    if not cid:
        return entra_error(
            "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
        )
    if cid != app.client_id or not t.consented:
        return app_not_in_tenant(cid, t)
    bad = authenticate_client(sim, request, t)
    if bad is not None:
        return bad
    scope = request.form.get("scope", "")
    if not scope:
        return entra_error("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
    if len(scope.split()) != 1 or not scope.endswith("/.default"):
        return entra_error(
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the resource "
            "identifier (application ID URI).",
        )
    resource = scope[: -len("/.default")].rstrip("/")
    if resource not in (GRAPH_RESOURCE, "00000003-0000-0000-c000-000000000000"):
        return entra_error(
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in "
            f"the tenant named {t.name}. This can happen if the application has not been installed by "
            "the administrator of the tenant or consented to by any user in the tenant.",
        )
    with sim.world.lock:
        roles = sorted(t.grants)
    access, lifetime = sim.tokens.access_token(t.id, roles, s.token_lifetime_s)
    sim.stats["tokens_issued"] += 1
    return Response(
        json.dumps(
            {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access}
        ),
        content_type="application/json; charset=utf-8",
        headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )
