"""App-only access tokens from Microsoft Entra ID, one MSAL client per tenant.

``TokenProvider(tenant_id)`` returns a Graph access token for that tenant (client-credentials
flow, scope ``https://<graph host>/.default``: shared/clouds.py). Each tenant gets one
``msal.ConfidentialClientApplication``, built on first use and kept for the process, so MSAL's
in-memory token cache is reused until the token nears expiry.

The app proves itself with one of three credentials (``ROOMCAL_CLIENT_CREDENTIAL``): a **federated identity
credential** (secretless: a token of the Function App's user-assigned managed identity for
``api://AzureADTokenExchange`` is the client assertion; entra-docs
workload-id/workload-identity-federation-config-app-trust-managed-identity.md), a **certificate** (the
Key Vault fallback), or a **secret** (local development only).

Entra answers failures with AADSTS codes (https://learn.microsoft.com/entra/identity-platform/reference-error-codes);
``map_token_error`` turns them into domain errors a person can act on.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jwt
import msal
import requests
from msal.exceptions import MsalServiceError

from shared import keys
from shared.config import Settings
from shared.errors import AccessDenied, ConfigurationError, ConsentMissing, NotFound, RoomCalError, Unavailable

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MICROSOFT_LOGIN_HOSTS = {"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn",
                         "login.chinacloudapi.cn"}

_CONSENT_CODES = {700016, 65001, 7000112, 500011, 7000114, 50194}
_SECRET_CODES = {7000215, 7000222, 7000216, 700025}
_CERT_CODES = {700027, 700024, 700023, 7000274}
_FEDERATION_CODES = {70021, 700211, 700212, 700213, 7002131}  # no federated credential matches the assertion
_TENANT_CODES = {90002, 900023, 90072, 50128, 50059}
_POLICY_CODES = {53003, 53000, 53001, 50105}
_CONSENT_FIX = ("ask a Global or Privileged Role Administrator of the tenant to grant admin consent to RoomCal "
                "again (the admin consent link on the RoomCal admin page)")


class TokenProvider:
    """Callable ``(tenant_id) -> access token``; thread-safe; one MSAL app per tenant."""

    def __init__(self, *, client_id: str, credential: str | dict, login_base_url: str,
                 session: requests.Session, app_factory: Callable[..., Any] | None = None,
                 scope: str = GRAPH_SCOPE) -> None:
        if not client_id or not credential:
            raise ConfigurationError("RoomCal has no app registration credentials",
                                     fix="set ROOMCAL_CLIENT_ID and ROOMCAL_CLIENT_SECRET "
                                     "(or ROOMCAL_CLIENT_CERTIFICATE_PATH)")
        self._client_id = client_id
        self._credential = credential
        self._login_base_url = login_base_url.rstrip("/")
        self._session = session
        self._scope = scope
        self._factory = app_factory or msal.ConfidentialClientApplication
        self._apps: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, session: requests.Session) -> TokenProvider:
        return cls(client_id=settings.client_id, credential=client_credential(settings, session),
                   login_base_url=settings.login_base_url, session=session, scope=settings.graph_scope)

    def __call__(self, tenant_id: str) -> str:
        return self.token(tenant_id)

    def token(self, tenant_id: str) -> str:
        """A valid Graph access token for the tenant (cached by MSAL until near expiry).

        Raises ConsentMissing, ConfigurationError, NotFound (unknown tenant), AccessDenied or Unavailable.
        """
        tenant = keys.normalise_tenant_id(tenant_id)
        app = self._app(tenant)
        try:
            result = app.acquire_token_for_client(scopes=[self._scope])
        except (requests.RequestException, ValueError, MsalServiceError) as exc:
            raise Unavailable(f"Microsoft Entra ID token endpoint unreachable for tenant {tenant}",
                              detail={"tenant": tenant, "cause": type(exc).__name__}) from None
        if "access_token" not in result:
            raise map_token_error(result, tenant)
        return result["access_token"]

    def roles(self, tenant_id: str) -> set[str]:
        """Application permissions (``roles`` claim) in the tenant's token, e.g. {"Calendars.ReadWrite"}.

        The token is our own, fresh from Entra over TLS, so its claims are read without verifying
        the signature (Graph, its audience, verifies it).
        """
        claims = jwt.decode(self.token(tenant_id), options={"verify_signature": False})
        roles = claims.get("roles") or []
        return {r for r in roles if isinstance(r, str)}

    def forget(self, tenant_id: str) -> None:
        """Drop a tenant's MSAL app and cached tokens (offboarding, consent revoked)."""
        with self._lock:
            self._apps.pop(keys.normalise_tenant_id(tenant_id), None)

    def _app(self, tenant: str):
        with self._lock:
            app = self._apps.get(tenant)
            if app is None:
                app = self._apps[tenant] = self._build(tenant)
            return app

    def _build(self, tenant: str):
        host = urlparse(self._login_base_url).hostname or ""
        microsoft = host in MICROSOFT_LOGIN_HOSTS
        try:
            return self._factory(
                self._client_id, client_credential=self._credential,
                authority=f"{self._login_base_url}/{tenant}", http_client=self._session,
                instance_discovery=microsoft, validate_authority=microsoft,
            )
        except ValueError as exc:
            # MSAL reads the tenant's OpenID configuration here; a 4xx means the tenant does not exist.
            cause = str(exc.__context__ or exc)
            if "OIDC Discovery failed" in cause and "HTTP status: 4" in cause:
                raise NotFound(f"tenant {tenant} does not exist in Microsoft Entra ID",
                               fix="check the tenant id (Entra admin centre → Overview → Tenant ID)",
                               detail={"tenant": tenant}) from None
            raise Unavailable(f"cannot read Entra ID metadata for tenant {tenant}",
                              detail={"tenant": tenant, "cause": type(exc).__name__}) from None
        except requests.RequestException as exc:
            raise Unavailable(f"Microsoft Entra ID unreachable for tenant {tenant}",
                              detail={"tenant": tenant, "cause": type(exc).__name__}) from None


def map_token_error(result: dict, tenant: str) -> RoomCalError:
    """An MSAL error dict (``error``, ``error_description``, ``error_codes``, ``correlation_id``) → domain error."""
    codes = set(result.get("error_codes") or [])
    error = result.get("error") or "unknown_error"
    detail = {"tenant": tenant, "error": error, "aadsts": sorted(codes),
              "correlation_id": result.get("correlation_id"), "trace_id": result.get("trace_id")}
    detail = {k: v for k, v in detail.items() if v}
    if codes & _CONSENT_CODES or error == "unauthorized_client":
        return ConsentMissing(f"tenant {tenant} has not granted RoomCal admin consent, or revoked it",
                              fix=_CONSENT_FIX, detail=detail)
    if codes & _SECRET_CODES:
        return ConfigurationError("Entra ID rejected RoomCal's client secret (wrong or expired)",
                                  fix="set ROOMCAL_CLIENT_SECRET to a current secret of the app registration",
                                  detail=detail)
    if codes & _FEDERATION_CODES:
        return ConfigurationError("Entra ID found no federated credential of RoomCal's app registration that matches "
                                  "the managed identity's token",
                                  fix="run infra/entra/Register-RoomCalApp.ps1 with -ManagedIdentityPrincipalId of the "
                                  "Function App's identity (issuer, subject and audience must match exactly)",
                                  detail=detail)
    if codes & _CERT_CODES:
        return ConfigurationError("Entra ID rejected RoomCal's client certificate",
                                  fix="upload the certificate in ROOMCAL_CLIENT_CERTIFICATE_PATH to the app "
                                  "registration, or renew it", detail=detail)
    if codes & _TENANT_CODES or error == "invalid_tenant":
        return NotFound(f"tenant {tenant} does not exist in Microsoft Entra ID or has no subscription",
                        fix="check the tenant id (Entra admin centre → Overview → Tenant ID)", detail=detail)
    if codes & _POLICY_CODES:
        return AccessDenied("a Conditional Access policy of the tenant blocks RoomCal's sign-in",
                            fix="ask the tenant's admin to exclude RoomCal's service principal from the policy",
                            detail=detail)
    if error == "invalid_client":
        return ConfigurationError("Entra ID rejected RoomCal's app credentials",
                                  fix="check ROOMCAL_CLIENT_ID and ROOMCAL_CLIENT_SECRET", detail=detail)
    if error in ("temporarily_unavailable", "server_error") or any(c >= 90000 and c < 90100 for c in codes):
        return Unavailable("Microsoft Entra ID is temporarily unavailable", detail=detail)
    return AccessDenied(f"Entra ID refused a token for tenant {tenant} ({error})",
                        fix="see detail.aadsts at https://login.microsoftonline.com/error", detail=detail)


def credential_kind(settings: Settings) -> str:
    """The credential ``ROOMCAL_CLIENT_CREDENTIAL`` names; ``auto``: a certificate if one is set, else the secret."""
    if settings.client_credential != "auto":
        return settings.client_credential
    if settings.client_certificate.get_secret_value() or settings.client_certificate_path:
        return "certificate"
    return "secret"


def client_credential(settings: Settings, session: requests.Session) -> str | dict:
    """MSAL's ``client_credential`` for the configured kind."""
    kind = credential_kind(settings)
    if kind == "federated_identity":
        return {"client_assertion": ManagedIdentityAssertion(settings.managed_identity_client_id,
                                                             settings.federation_audience, session)}
    if kind == "certificate":
        pem = settings.client_certificate.get_secret_value()
        if pem:
            return certificate_credential(pem.encode(), "ROOMCAL_CLIENT_CERTIFICATE")
        return load_certificate(settings.client_certificate_path)
    return settings.client_secret.get_secret_value()


class ManagedIdentityAssertion:
    """Callable MSAL invokes for a fresh client assertion: the managed identity's token for the exchange audience.

    MSAL's ManagedIdentityClient reads IDENTITY_ENDPOINT / IDENTITY_HEADER (App Service, Azure Functions) and
    caches the token until near expiry, so the identity endpoint is asked about once an hour, not per tenant.
    """

    def __init__(self, identity_client_id: str, audience: str, session: requests.Session) -> None:
        if not identity_client_id:
            raise ConfigurationError("ROOMCAL_CLIENT_CREDENTIAL is federated_identity but no managed identity is named",
                                     fix="set ROOMCAL_MANAGED_IDENTITY_CLIENT_ID to the client id of the Function "
                                     "App's user-assigned identity (infra/ sets it)")
        self._client = msal.ManagedIdentityClient(msal.UserAssignedManagedIdentity(client_id=identity_client_id),
                                                  http_client=session)
        self._audience = audience
        self._identity = identity_client_id

    def __call__(self) -> str:
        try:
            result = self._client.acquire_token_for_client(resource=self._audience)
        except (requests.RequestException, ValueError) as exc:
            raise Unavailable("the managed identity endpoint is unreachable",
                              detail={"cause": type(exc).__name__}) from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            raise ConfigurationError("the managed identity gave no token for the federated credential",
                                     fix="check that the Function App has the user-assigned identity "
                                     "ROOMCAL_MANAGED_IDENTITY_CLIENT_ID names",
                                     detail={"identity": self._identity, "error": (result or {}).get("error")})
        return token


def load_certificate(path: str) -> dict:
    """MSAL certificate credential from one PEM file holding the private key and the certificate."""
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"ROOMCAL_CLIENT_CERTIFICATE_PATH: cannot read a PEM certificate and private key "
                                 f"({type(exc).__name__})",
                                 fix="point it at one PEM file with an unencrypted private key and its certificate"
                                 ) from None
    return certificate_credential(pem, "ROOMCAL_CLIENT_CERTIFICATE_PATH")


def certificate_credential(pem: bytes, setting: str) -> dict:
    """MSAL certificate credential from PEM text holding the private key and the certificate (Key Vault's PEM
    export, or a file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(pem)
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise ConfigurationError(f"{setting}: cannot read a PEM certificate and private key ({type(exc).__name__})",
                                 fix="use one PEM with an unencrypted private key and its certificate (a Key Vault "
                                 "certificate with content type application/x-pem-file)") from None
    der = cert.public_bytes(serialization.Encoding.DER)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return {
        "private_key": key_pem.decode(),
        "thumbprint": hashlib.sha1(der).hexdigest(),  # noqa: S324 - x5t is defined as SHA-1
    }
