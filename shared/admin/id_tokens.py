"""ID-token validation with PyJWT, as Microsoft's identity platform asks of a multi-tenant app
(learn.microsoft.com/entra/identity-platform/id-tokens, .../access-tokens#validate-the-issuer):

* signature: RS256 by a key of the authority's JWKS (``jwks_uri`` of the OpenID metadata), keys cached
  and refetched when a token names an unknown ``kid`` (signing-key rollover), at most every 5 minutes;
* ``iss`` must be the metadata's issuer template with ``{tenantid}`` replaced by the token's own ``tid``;
* ``aud`` is RoomCal's client id; ``exp``/``nbf``/``iat`` within 2 minutes of skew; ``nonce`` is the one
  this sign-in sent; ``tid`` is a GUID and not the personal-accounts tenant.
"""

from __future__ import annotations

import hmac
import threading
import time
from datetime import timedelta

import jwt
import requests

from shared import keys
from shared.errors import AccessDenied, InvalidInput, Unavailable

MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # personal Microsoft accounts: never an organisation
SKEW = timedelta(minutes=2)
JWKS_TTL_S = 24 * 3600
REFETCH_MIN_S = 300


class JwksCache:
    """The authority's signing keys by ``kid``, read from its OpenID metadata; thread-safe."""

    def __init__(self, session: requests.Session, metadata_url: str, *, monotonic=time.monotonic) -> None:
        self._session, self._metadata_url, self._monotonic = session, metadata_url, monotonic
        self._keys: dict[str, object] = {}
        self._issuer = ""
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def issuer_template(self) -> str:
        self._ensure(kid=None)
        return self._issuer

    def key(self, kid: str):
        self._ensure(kid)
        try:
            return self._keys[kid]
        except KeyError:
            raise AccessDenied("the sign-in token is signed with a key Microsoft does not publish",
                               fix="sign in again") from None

    def _ensure(self, kid: str | None) -> None:
        with self._lock:
            now = self._monotonic()
            stale = self._fetched_at is None or now - self._fetched_at > JWKS_TTL_S
            unknown = kid is not None and kid not in self._keys
            if stale or (unknown and now - self._fetched_at >= REFETCH_MIN_S):
                self._refresh()
                self._fetched_at = now

    def _refresh(self) -> None:
        try:
            meta = self._get(self._metadata_url)
            jwks = self._get(meta["jwks_uri"])
            found = {}
            for jwk in jwks.get("keys", []):
                if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig" and jwk.get("kid"):
                    found[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256").key
        except (requests.RequestException, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            raise Unavailable("cannot read Microsoft Entra ID's signing keys",
                              detail={"cause": type(exc).__name__}) from None
        self._keys, self._issuer = found, meta.get("issuer", "")

    def _get(self, url: str) -> dict:
        answer = self._session.get(url)
        answer.raise_for_status()
        return answer.json()


class IdTokenValidator:
    def __init__(self, jwks: JwksCache, *, client_id: str, clock) -> None:
        self._jwks, self._client_id, self._clock = jwks, client_id, clock

    def validate(self, token: str, *, nonce: str) -> dict:
        """The token's claims; AccessDenied saying which check failed."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refused("it is not a JWT") from None
        if header.get("alg") != "RS256" or not header.get("kid"):
            raise _refused("it is not RS256-signed with a key id")
        try:
            claims = jwt.decode(token, self._jwks.key(header["kid"]), algorithms=["RS256"],
                                audience=self._client_id,
                                options={"require": ["iss", "aud", "exp", "iat", "tid", "oid"],
                                         "verify_exp": False, "verify_nbf": False, "verify_iat": False})
        except jwt.InvalidAudienceError:
            raise _refused("it was issued for another application") from None
        except jwt.PyJWTError as exc:
            raise _refused(f"{type(exc).__name__}") from None
        self._check_times(claims)
        tid = self._check_tenant(claims)
        expected_issuer = self._jwks.issuer_template().replace("{tenantid}", tid)
        if claims["iss"] != expected_issuer:
            raise _refused("its issuer does not match its tenant")
        if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            raise _refused("its nonce does not belong to this sign-in")
        return claims

    def _check_times(self, claims: dict) -> None:
        now = self._clock.now().timestamp()
        skew = SKEW.total_seconds()
        if not isinstance(claims["exp"], int | float) or claims["exp"] + skew <= now:
            raise _refused("it has expired")
        if claims.get("nbf", 0) - skew > now or claims["iat"] - skew > now:
            raise _refused("it is not valid yet")

    @staticmethod
    def _check_tenant(claims: dict) -> str:
        try:
            tid = keys.normalise_tenant_id(str(claims["tid"]))
        except InvalidInput:
            raise _refused("its tenant id is not a GUID") from None
        if tid == MSA_TENANT:
            raise AccessDenied("personal Microsoft accounts cannot administer RoomCal",
                               fix="sign in with your work or school account")
        return tid


def _refused(why: str) -> AccessDenied:
    return AccessDenied(f"the sign-in token was refused: {why}", fix="sign in again")
