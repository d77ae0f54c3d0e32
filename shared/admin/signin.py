"""Entra sign-in for customer admins: the OpenID Connect authorization-code flow with PKCE and nonce,
against the multi-tenant ``organizations`` authority, done by MSAL.

MSAL builds the authorize URL (state, nonce, PKCE ``code_challenge``) and redeems the code with the
``code_verifier``; since MSAL 1.38 it no longer validates the ID token, so ``IdTokenValidator`` does
(signature, issuer per tenant, audience, times, nonce, tid). MSAL sends the SHA-256 of its flow nonce on
the wire, so that hash is what the token's ``nonce`` claim must equal.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlparse

import msal
import requests
from msal.exceptions import MsalServiceError

from shared.adapters.entra import MICROSOFT_LOGIN_HOSTS
from shared.admin.id_tokens import IdTokenValidator
from shared.admin.principal import Principal
from shared.errors import AccessDenied, InvalidInput, Unavailable
from shared.log import log_event

log = logging.getLogger("roomcal.admin")

AUTHORITY_TENANT = "organizations"  # work and school accounts of any tenant
_FLOW_KEYS = ("state", "redirect_uri", "scope", "code_verifier", "nonce")


class EntraSignIn:
    def __init__(self, *, client_id: str, credential, login_base_url: str, session: requests.Session,
                 redirect_uri: str, validator: IdTokenValidator) -> None:
        self._client_id, self._credential = client_id, credential
        self._authority = f"{login_base_url.rstrip('/')}/{AUTHORITY_TENANT}"
        self._session, self._redirect_uri, self._validator = session, redirect_uri, validator
        self._http_cache: dict = {}  # MSAL caches the authority's metadata here across sign-ins

    def begin(self, *, login_hint: str | None = None) -> tuple[str, dict]:
        """(URL to send the browser to, the flow to keep in the cookie until the callback)."""
        flow = self._app().initiate_auth_code_flow(scopes=[], redirect_uri=self._redirect_uri,
                                                   login_hint=login_hint or None)
        return flow["auth_uri"], {k: flow[k] for k in _FLOW_KEYS if k in flow}

    def complete(self, flow: dict, params: dict[str, str]) -> Principal:
        """Redeem the callback's code; the validated identity, or AccessDenied / InvalidInput saying why."""
        if params.get("error"):
            raise AccessDenied(f"Microsoft did not sign you in: {params['error']}",
                               fix="try again, or ask your Entra admin", detail=_aadsts(params))
        full_flow = {**flow, "auth_uri": "", "claims_challenge": None}  # what MSAL kept beside the cookie
        try:
            result = self._app().acquire_token_by_auth_code_flow(full_flow, dict(params))
        except ValueError:  # MSAL: state mismatch, or a response that is not this flow's
            raise InvalidInput("this sign-in response does not belong to your sign-in",
                               fix="start the sign-in again") from None
        except (requests.RequestException, MsalServiceError) as exc:
            raise Unavailable("Microsoft Entra ID could not be reached to finish the sign-in",
                              detail={"cause": type(exc).__name__}) from None
        if "id_token" not in result:
            log_event(log, "sign-in code redemption failed", level=logging.WARNING, error=result.get("error"))
            raise AccessDenied("Microsoft refused to finish the sign-in", fix="start the sign-in again",
                               detail={"error": result.get("error"), "aadsts": result.get("error_codes")})
        nonce = hashlib.sha256(flow["nonce"].encode("ascii")).hexdigest()
        claims = self._validator.validate(result["id_token"], nonce=nonce)
        roles = frozenset(r for r in claims.get("roles") or () if isinstance(r, str))
        return Principal(kind="entra", tenant_id=claims["tid"].lower(), object_id=str(claims["oid"]),
                         username=str(claims.get("preferred_username") or "")[:256],
                         name=str(claims.get("name") or "")[:256], roles=roles)

    def _app(self):
        microsoft = (urlparse(self._authority).hostname or "") in MICROSOFT_LOGIN_HOSTS
        try:
            # A fresh app (and token cache) per sign-in: RoomCal keeps no user tokens, only the session.
            return msal.ConfidentialClientApplication(
                self._client_id, client_credential=self._credential, authority=self._authority,
                http_client=self._session, http_cache=self._http_cache,
                instance_discovery=microsoft, validate_authority=microsoft)
        except (ValueError, requests.RequestException) as exc:
            raise Unavailable("cannot read Microsoft Entra ID's sign-in metadata",
                              detail={"cause": type(exc).__name__}) from None


def _aadsts(params: dict) -> dict:
    text = (params.get("error_description") or "")[:300]
    return {"error": params.get("error", "")[:100], "description": text}
