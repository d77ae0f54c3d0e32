"""What the admin HTTP layer needs, built from Settings: the session codec and the Entra sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from shared.admin.id_tokens import IdTokenValidator, JwksCache
from shared.admin.sessions import SessionCodec, fernet_for
from shared.admin.signin import AUTHORITY_TENANT, EntraSignIn
from shared.config import Settings
from shared.errors import ConfigurationError

SIGNIN_CALLBACK = "/api/auth/callback"


@dataclass(frozen=True)
class AdminAccess:
    sessions: SessionCodec
    public_base_url: str
    signin: EntraSignIn | None = None

    def require_signin(self) -> EntraSignIn:
        if self.signin is None:
            raise ConfigurationError("Entra sign-in is not configured",
                                     fix="set ROOMCAL_CLIENT_ID and ROOMCAL_CLIENT_SECRET (or a certificate)")
        return self.signin


def build_admin_access(settings: Settings, clock, *, session=None) -> AdminAccess:
    fernet = fernet_for(settings.session_secret.get_secret_value(), development=settings.environment == "development")
    codec = SessionCodec(fernet, clock=clock, minutes=settings.session_minutes)
    if settings.missing_for_graph():
        return AdminAccess(codec, settings.public_base_url)
    from shared.adapters.entra import client_credential
    from shared.adapters.http_session import build_session

    session = session or build_session(settings)
    credential = client_credential(settings, session)  # the same kind as the Graph side: federated, certificate, secret
    login = settings.login_base_url
    jwks = JwksCache(session, f"{login}/{AUTHORITY_TENANT}/v2.0/.well-known/openid-configuration")
    signin = EntraSignIn(client_id=settings.client_id, credential=credential, login_base_url=login, session=session,
                         redirect_uri=settings.public_base_url + SIGNIN_CALLBACK,
                         validator=IdTokenValidator(jwks, client_id=settings.client_id, clock=clock))
    return AdminAccess(codec, settings.public_base_url, signin)
