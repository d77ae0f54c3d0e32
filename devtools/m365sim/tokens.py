"""RS256 signing keys, JWKS, and the JWTs the emulator issues (access and ID tokens) and checks (assertions)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .world import GRAPH_RESOURCE, World

GRAPH_AUDIENCES = (GRAPH_RESOURCE, GRAPH_RESOURCE + "/", "00000003-0000-0000-c000-000000000000")


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        kid = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()  # noqa: S324 - a key id
        return cls(kid, key)

    def jwk(self) -> dict:
        nums = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64(nums.n),
            "e": _b64(nums.e),
            "alg": "RS256",
        }


class TokenService:
    """Signs with ``key``; JWKS publishes it and, after a rollover, the previous keys too (entra-docs
    signing-key-rollover: apps must accept any key in the metadata and refetch on an unknown ``kid``)."""

    def __init__(self, world: World, base_url_fn) -> None:
        self.world = world
        self.key = SigningKey.generate()
        self.retired: list[SigningKey] = []
        self._base = base_url_fn

    def rotate(self, *, keep_previous: bool = True) -> str:
        """Key rollover: a new signing key; the old one stays published unless ``keep_previous`` is false."""
        self.retired = [self.key, *self.retired][:2] if keep_previous else []
        self.key = SigningKey.generate()
        return self.key.kid

    def issuer(self, tid: str) -> str:
        return f"{self._base()}/{tid}/v2.0"

    def jwks(self) -> dict:
        return {"keys": [k.jwk() for k in (self.key, *self.retired)]}

    def _sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.key.kid, "typ": "JWT"})

    @property
    def private_key(self):
        return self.key.private

    def access_token(self, tid: str, roles: list[str], lifetime_s: int) -> tuple[str, int]:
        now = int(self.world.clock.now().timestamp())
        app = self.world.app
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": self.issuer(tid),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "appid": app.client_id,
            "azp": app.client_id,
            "app_displayname": app.display_name,
            "idtyp": "app",
            "oid": self._sp_oid(tid),
            "sub": self._sp_oid(tid),
            "tid": tid,
            "roles": sorted(roles),
            "uti": uuid.uuid4().hex[:22],
            "ver": "1.0",
        }
        return self._sign(claims), lifetime_s

    def id_token(self, tid: str, user, nonce: str | None = None, lifetime_s: int = 3600) -> str:
        now = int(self.world.clock.now().timestamp())
        claims = {
            "aud": self.world.app.client_id,
            "iss": self.issuer(tid),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "tid": tid,
            "oid": user.id,
            "sub": hashlib.sha256(f"{user.id}|{self.world.app.client_id}".encode()).hexdigest()[:43],
            "preferred_username": user.upn,
            "name": user.name,
            "roles": list(user.app_roles),
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return self._sign(claims)

    def delegated_token(self, tid: str, user, lifetime_s: int = 3600) -> str:
        """A delegated Graph token (``scp`` User.Read) as the code flow returns; the emulator's Graph is app-only."""
        now = int(self.world.clock.now().timestamp())
        return self._sign(
            {
                "aud": GRAPH_RESOURCE,
                "iss": self.issuer(tid),
                "iat": now,
                "nbf": now,
                "exp": now + lifetime_s,
                "tid": tid,
                "oid": user.id,
                "upn": user.upn,
                "scp": "User.Read",
                "appid": self.world.app.client_id,
                "idtyp": "user",
                "ver": "1.0",
            }
        )

    def _sp_oid(self, tid: str) -> str:
        """The app's service-principal object id in a tenant: stable per tenant and client id."""
        return str(uuid.UUID(bytes=hashlib.sha256(f"sp|{tid}|{self.world.app.client_id}".encode()).digest()[:16]))

    def validate_access_token(self, token: str) -> dict:
        """Graph's check. Raises jwt exceptions; the caller maps them to 401 InvalidAuthenticationToken."""
        now = self.world.clock.now().timestamp()
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in (self.key, *self.retired) if k.kid == kid), self.key)
        claims = jwt.decode(
            token,
            key.private.public_key(),
            algorithms=["RS256"],
            audience=GRAPH_AUDIENCES,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
        if claims["exp"] <= now:
            raise jwt.ExpiredSignatureError("Lifetime validation failed, the token is expired.")
        if claims.get("nbf", 0) > now + 300:
            raise jwt.ImmatureSignatureError("The token is not yet valid.")
        return claims


def certificate_public_keys(pems: list[str]) -> list:
    keys = []
    for pem in pems:
        data = pem.encode()
        if b"CERTIFICATE" in data:
            keys.append(x509.load_pem_x509_certificate(data).public_key())
        else:
            keys.append(serialization.load_pem_public_key(data))
    return keys


class AssertionError_(Exception):
    def __init__(self, aadsts: int, text: str):
        super().__init__(text)
        self.aadsts, self.text = aadsts, text


def check_client_assertion(assertion: str, client_id: str, token_url: str, pems: list[str], now: datetime) -> None:
    """RFC 7523 private_key_jwt as Entra checks it: RS256 by a registered cert, iss = sub = client id,
    aud = the token URL."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise AssertionError_(50027, "JWT token is invalid or malformed.") from exc
    if header.get("alg") not in ("RS256", "PS256"):
        raise AssertionError_(5002738, "Invalid JWT token. The token signing algorithm is not supported.")
    for key in certificate_public_keys(pems):
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["RS256", "PS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise AssertionError_(50027, "JWT token is invalid or malformed.") from exc
        break
    else:
        raise AssertionError_(700027, "Client assertion failed signature validation.")
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionError_(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(str(a).rstrip("/") in (token_url.rstrip("/"), token_url.rsplit("/oauth2", 1)[0]) for a in auds):
        raise AssertionError_(50013, "Assertion audience does not match the Client app presenting the assertion.")
    ts = now.timestamp()
    if "exp" not in claims or claims["exp"] < ts - 300 or claims.get("nbf", 0) > ts + 300:
        raise AssertionError_(700024, "Client assertion is not within its valid time range.")
