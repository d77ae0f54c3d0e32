"""Managed identity, and a managed identity as a federated identity credential (FIC) of the app registration.

Two surfaces, so RoomCal's secretless credential runs end to end without Azure:

* **The App Service / Azure Functions identity endpoint** (``GET /msi/token``): what ``IDENTITY_ENDPOINT`` points
  at inside a Function App. Request: ``resource``, ``api-version=2019-08-01``, ``client_id`` of a user-assigned
  identity, header ``X-IDENTITY-HEADER`` = ``IDENTITY_HEADER``; answer ``{access_token, expires_on, resource,
  token_type, client_id}`` (learn.microsoft.com/azure/app-service/overview-managed-identity, "REST endpoint
  reference"; MSAL Python's ``managed_identity._obtain_token_on_app_service`` sends exactly this). Wrong or missing
  header and unknown identities answer 400 with ``{statusCode, message}`` (observed shape; the doc lists the codes
  only). The token is a JWT from the emulator's Entra: ``iss`` = the identity's tenant v2.0 issuer, ``sub`` = ``oid``
  = the identity's object (principal) id, ``aud`` = the resource.
* **The FIC check in the token endpoint** (``check_federated_assertion``): a client assertion whose issuer matches a
  federated credential of the app is judged against that credential, as Entra does for workload identity federation
  (entra-docs workload-id/workload-identity-federation-config-app-trust-managed-identity.md): issuer, subject (the
  identity's object id, case-sensitive) and audience (``api://AzureADTokenExchange``) must match exactly, no
  wildcards, the signature must be the issuer's, the token in date. Errors are Entra's: AADSTS700211 (issuer),
  AADSTS700212 (audience), AADSTS700213 (subject), AADSTS700024 (time), AADSTS700027 (signature); the 7002xx codes
  and their texts are as Entra answers them (entra-docs reference-error-codes.md; observed wording).
  Only user-assigned identities can be FICs (same doc); the emulator only has user-assigned ones.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import asdict, dataclass, field

import jwt
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .tokens import AssertionError_

API_VERSION = "2019-08-01"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
DEFAULT_IDENTITY_TENANT = "5e1f0b4a-7a1c-4d2e-9c1b-0f1e2d3c4b5a"  # the vendor's tenant, home of the app registration


@dataclass
class Identity:
    client_id: str
    principal_id: str
    tenant_id: str = DEFAULT_IDENTITY_TENANT


@dataclass
class IdentityHost:
    """The identity endpoint of one (emulated) Function App: its secret header and its user-assigned identities."""

    header: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    identities: dict[str, Identity] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, client_id: str | None = None, principal_id: str | None = None,
            tenant_id: str = DEFAULT_IDENTITY_TENANT) -> Identity:
        ident = Identity(client_id or str(uuid.uuid4()), principal_id or str(uuid.uuid4()), tenant_id)
        with self.lock:
            self.identities[ident.client_id] = ident
        return ident


def rules() -> list[Rule]:
    return [
        Rule("/msi/token", endpoint=msi_token, methods=["GET"]),
        Rule("/_control/managed-identities", endpoint=control_identities, methods=["GET", "POST"]),
    ]


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"statusCode": status, "message": message}), status=status,
                    content_type="application/json; charset=utf-8")


def msi_token(sim, request: Request) -> Response:
    host: IdentityHost = sim.managed_identity
    if request.headers.get("X-IDENTITY-HEADER") != host.header:
        return _error(400, "The request is missing the X-IDENTITY-HEADER header, or its value is wrong.")
    if request.args.get("api-version") != API_VERSION:
        return _error(400, f"Unsupported api-version; use {API_VERSION}.")
    resource = request.args.get("resource", "")
    if not resource:
        return _error(400, "The 'resource' parameter is required.")
    with host.lock:
        ident = host.identities.get(request.args.get("client_id", ""))
    if ident is None:
        return _error(400, "No User Assigned or Delegated Managed Identity found for specified "
                           "ClientId/ResourceId/PrincipalId.")
    now = int(sim.world.clock.now().timestamp())
    lifetime = sim.world.settings.token_lifetime_s
    claims = {"aud": resource, "iss": sim.tokens.issuer(ident.tenant_id), "iat": now, "nbf": now,
              "exp": now + lifetime, "sub": ident.principal_id, "oid": ident.principal_id, "tid": ident.tenant_id,
              "azp": ident.client_id, "appid": ident.client_id, "idtyp": "app", "ver": "2.0",
              "uti": uuid.uuid4().hex[:22]}
    token = sim.tokens._sign(claims)
    sim.stats["managed_identity_tokens"] += 1
    return Response(json.dumps({"access_token": token, "expires_on": str(now + lifetime), "resource": resource,
                                "token_type": "Bearer", "client_id": ident.client_id}),
                    content_type="application/json; charset=utf-8")


def control_identities(sim, request: Request) -> Response:
    """POST ``{client_id?, principal_id?, tenant_id?}`` adds a user-assigned identity; GET lists them.

    Both answer the ``identity_endpoint`` and ``identity_header`` to put in IDENTITY_ENDPOINT / IDENTITY_HEADER."""
    host: IdentityHost = sim.managed_identity
    created = None
    if request.method == "POST":
        body = request.get_json(silent=True) or {}
        created = asdict(host.add(body.get("client_id"), body.get("principal_id"),
                                  body.get("tenant_id") or DEFAULT_IDENTITY_TENANT))
    with host.lock:
        listed = [asdict(i) for i in host.identities.values()]
    body = {"identity_endpoint": f"{sim.base_url}/msi/token", "identity_header": host.header, "identities": listed}
    if created:
        body["identity"] = created
    return Response(json.dumps(body), content_type="application/json")


def is_federated(assertion: str, client_id: str) -> bool:
    """A client assertion the app did not sign itself (RFC 7523 private_key_jwt has iss = sub = client id) is a
    federated one: Entra looks it up among the app's federated credentials."""
    try:
        iss = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return False
    return iss != client_id


def check_federated_assertion(sim, assertion: str, credentials: list[dict]) -> None:
    """Judge a managed-identity token presented as client assertion; raises AssertionError_ like Entra."""
    unverified = jwt.decode(assertion, options={"verify_signature": False})
    iss, sub, aud = unverified.get("iss"), unverified.get("sub"), unverified.get("aud")
    by_issuer = [c for c in credentials if c.get("issuer") == iss]
    if not by_issuer:
        raise AssertionError_(700211, f"No matching federated identity record found for presented assertion issuer "
                                      f"'{iss}'.")
    try:  # the issuer is the emulator's Entra, so its own signing key is the issuer's key
        jwt.decode(assertion, sim.tokens.key.private.public_key(), algorithms=["RS256"],
                   options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except jwt.PyJWTError:
        raise AssertionError_(700027, "Client assertion failed signature validation.") from None
    auds = aud if isinstance(aud, list) else [aud]
    by_audience = [c for c in by_issuer if set(auds) & set(c.get("audiences") or [])]
    if not by_audience:
        raise AssertionError_(700212, f"No matching federated identity record found for presented assertion "
                                      f"audience '{aud}'.")
    if not any(c.get("subject") == sub for c in by_audience):  # exact, case-sensitive, no wildcards
        raise AssertionError_(700213, f"No matching federated identity record found for presented assertion "
                                      f"subject '{sub}'.")
    now = sim.world.clock.now().timestamp()
    if unverified.get("exp", 0) < now - 300 or unverified.get("nbf", 0) > now + 300:
        raise AssertionError_(700024, "Client assertion is not within its valid time range.")
