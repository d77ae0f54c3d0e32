"""Admin sign-in: the authorization-code flow (``/{tenant}/oauth2/v2.0/authorize`` + token
``grant_type=authorization_code``) issuing RS256 ID tokens with ``tid``, ``oid``, ``preferred_username``, ``roles``
(app roles such as ``RoomCal.Admin``) and ``aud`` = the client id. Codes are one-time and live 10 minutes.
PKCE (RFC 7636, entra-docs v2-oauth2-auth-code-flow.md): a ``code_challenge`` (S256 or plain) sent to authorize
must be answered by the matching ``code_verifier`` at the token endpoint, else ``invalid_grant`` AADSTS501481.
A tenant's ``auto_signin`` (control API) skips the page, like an existing browser session would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .graph_errors import entra_error
from .pages import error_page, redirect, user_choices, user_form

CODE_TTL_S = 600


def rules() -> list[Rule]:
    return [Rule("/<tenant>/oauth2/v2.0/authorize", endpoint=authorize, methods=["GET", "POST"])]


def authorize(sim, request: Request, tenant: str) -> Response:
    p = request.values
    app = sim.world.app
    cid, redirect_uri, state, nonce = p.get("client_id"), p.get("redirect_uri"), p.get("state"), p.get("nonce")
    if cid != app.client_id:
        return error_page(700016, f"Application with identifier '{cid}' was not found in the directory.")
    if not redirect_uri or redirect_uri not in app.redirect_uris:
        return error_page(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the "
            f"redirect URIs configured for the application '{cid}'.",
        )
    if p.get("response_type") != "code":
        return redirect(
            redirect_uri,
            {
                "error": "unsupported_response_type",
                "error_description": "AADSTS700054: response_type must be 'code' here.",
                "state": state,
            },
        )
    with sim.world.lock:
        if tenant.lower() in ("common", "organizations"):
            tenants = sorted(sim.world.tenants.values(), key=lambda t: t.domain)
        else:
            t = sim.world.tenant(tenant)
            if t is None:
                return error_page(90002, f"Tenant '{tenant}' not found.")
            tenants = [t]
        if request.method == "GET":
            auto = next((t for t in tenants if t.auto_signin), None)
            if auto is None:
                users = user_choices(tenants)
                hidden = {
                    k: p.get(k)
                    for k in (
                        "client_id",
                        "redirect_uri",
                        "state",
                        "nonce",
                        "scope",
                        "response_type",
                        "code_challenge",
                        "code_challenge_method",
                    )
                }
                return user_form(f"Sign in to {app.display_name}", request.path, hidden, users, "Sign in")
            upn = auto.auto_signin
        elif p.get("action") != "accept":
            return redirect(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "AADSTS50126: the user canceled the sign-in.",
                    "state": state,
                },
            )
        else:
            upn = p.get("login_hint", "")
        for t in tenants:
            user = t.user(upn)
            if user:
                code = secrets.token_urlsafe(32)
                sim.auth_codes[code] = {
                    "tid": t.id,
                    "oid": user.id,
                    "nonce": nonce,
                    "redirect_uri": redirect_uri,
                    "code_challenge": p.get("code_challenge") or None,
                    "code_challenge_method": p.get("code_challenge_method") or "plain",
                    "at": time.monotonic(),
                }
                return redirect(redirect_uri, {"code": code, "state": state, "session_state": secrets.token_hex(8)})
    return error_page(50034, f"The user account {upn} does not exist in the directory.")


def redeem_code(sim, request: Request, tenant: str) -> Response:
    from .entra import authenticate_client

    form = request.form
    grant = sim.auth_codes.pop(form.get("code", ""), None)
    if grant is None or time.monotonic() - grant["at"] > CODE_TTL_S:
        return entra_error(
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due "
            "to inactivity. Send a new interactive authorization request for this user and resource.",
        )
    if form.get("redirect_uri") != grant["redirect_uri"]:
        return entra_error(
            "invalid_grant", 50148, "The redirect_uri does not match the one used in the authorize request."
        )
    if grant["code_challenge"] and not _verifier_matches(grant, form.get("code_verifier", "")):
        return entra_error(
            "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the "
            "authorization request."
        )
    with sim.world.lock:
        t = sim.world.tenants[grant["tid"]]
        user = t.users[grant["oid"]]
    if form.get("client_id", sim.world.app.client_id) != sim.world.app.client_id:
        return entra_error("unauthorized_client", 700016, "Application was not found in the directory.")
    bad = authenticate_client(sim, request, t)
    if bad is not None:
        return bad
    id_token = sim.tokens.id_token(t.id, user, grant["nonce"])
    body = {
        "token_type": "Bearer",
        "scope": "openid profile email",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "id_token": id_token,
        "access_token": sim.tokens.delegated_token(t.id, user),
    }
    return Response(
        json.dumps(body),
        content_type="application/json; charset=utf-8",
        headers={"Cache-Control": "no-store, no-cache"},
    )


def _verifier_matches(grant: dict, verifier: str) -> bool:
    if grant["code_challenge_method"] == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(verifier.encode(), grant["code_challenge"].encode())
