"""Session cookies: the signed-in admin's identity, encrypted and authenticated with Fernet
(cryptography), short-lived, in one ``Secure; HttpOnly; SameSite=Lax`` cookie.

The same cookie carries the sign-in in progress (MSAL's flow: state, PKCE verifier, nonce) between
the redirect to Entra and the callback, then the session itself. Lax, not Strict: the callback is a
top-level redirect from Entra's host, and Strict cookies are not sent on it. CSRF is handled per
request (shared.admin.authorise.check_csrf). Each session has an id (``sid``): sign-out deletes the cookie and
records the id as signed out (shared.admin.signouts), so a copy of the cookie stops working too; every session
also ends at its expiry (``ROOMCAL_SESSION_MINUTES``).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import datetime, timedelta
from http.cookies import SimpleCookie

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.admin.principal import Principal
from shared.errors import ConfigurationError

log = logging.getLogger("roomcal.admin")

COOKIE = "roomcal_session"
COOKIE_PATH = "/api"
FLOW_MINUTES = 10  # a sign-in must come back from Entra within this
_MAX_COOKIE = 3800  # browsers keep at least 4096 bytes per cookie, name and attributes included
_PROCESS_SECRET = secrets.token_urlsafe(32)


def fernet_for(secret: str, *, development: bool) -> Fernet:
    """A Fernet key derived (HKDF-SHA256) from the setting, so any long random string will do."""
    if not secret:
        if not development:
            raise ConfigurationError("ROOMCAL_SESSION_SECRET is not set",
                                     fix="set it to a random secret of at least 32 characters")
        log.warning("ROOMCAL_SESSION_SECRET is empty: sessions last only as long as this process")
        secret = _PROCESS_SECRET
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"roomcal admin session v1")
    key = kdf.derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class SessionCodec:
    def __init__(self, fernet: Fernet, *, clock, minutes: int, secure: bool = True) -> None:
        self._fernet, self._clock, self._minutes, self._secure = fernet, clock, minutes, secure

    # -- writing ---------------------------------------------------------------------------------------------
    def session_cookie(self, principal: Principal) -> str:
        now = self._clock.now()
        body = {"k": "session", "tid": principal.tenant_id, "oid": principal.object_id,
                "upn": principal.username, "name": principal.name, "roles": sorted(principal.roles),
                "csrf": secrets.token_urlsafe(24), "sid": secrets.token_urlsafe(16),
                "exp": _ts(now + timedelta(minutes=self._minutes))}
        return self._cookie(body, self._minutes * 60)

    def flow_cookie(self, flow: dict) -> str:
        body = {"k": "flow", "flow": flow, "exp": _ts(self._clock.now() + timedelta(minutes=FLOW_MINUTES))}
        return self._cookie(body, FLOW_MINUTES * 60)

    def clear_cookie(self) -> str:
        return self._attributes(f"{COOKIE}=", 0)

    def _cookie(self, body: dict, max_age: int) -> str:
        now = int(self._clock.now().timestamp())
        token = self._fernet.encrypt_at_time(json.dumps(body, separators=(",", ":")).encode(), now).decode()
        cookie = self._attributes(f"{COOKIE}={token}", max_age)
        if len(cookie) > _MAX_COOKIE:
            raise ConfigurationError("the session cookie would be larger than browsers keep",
                                     detail={"bytes": len(cookie)})
        return cookie

    def _attributes(self, pair: str, max_age: int) -> str:
        secure = "; Secure" if self._secure else ""
        return f"{pair}; Max-Age={max_age}; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax{secure}"

    # -- reading ---------------------------------------------------------------------------------------------
    def read(self, cookie_header: str | None, kind: str) -> dict | None:
        """The cookie's body if it is ours, intact, of ``kind`` and not expired; else None."""
        token = _cookie_value(cookie_header)
        if not token:
            return None
        now = self._clock.now()
        try:
            raw = self._fernet.decrypt_at_time(token.encode(), ttl=self._minutes * 60 + 60,
                                               current_time=int(now.timestamp()))
            body = json.loads(raw)
        except (InvalidToken, ValueError):
            return None
        if body.get("k") != kind or not isinstance(body.get("exp"), int) or body["exp"] <= now.timestamp():
            return None
        return body

    def principal(self, cookie_header: str | None) -> Principal | None:
        body = self.read(cookie_header, "session")
        if body is None:
            return None
        return Principal(kind="entra", tenant_id=body["tid"], object_id=body["oid"], username=body.get("upn", ""),
                         name=body.get("name", ""), roles=frozenset(body.get("roles") or ()), csrf=body["csrf"],
                         session_id=body.get("sid", ""), expires_at=body["exp"])


def _cookie_value(header: str | None) -> str | None:
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())
