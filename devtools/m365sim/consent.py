"""Admin consent: ``/{tenant}/adminconsent`` (v1) and ``/{tenant}/v2.0/adminconsent`` (v2)
(entra-docs v2-admin-consent.md, v2-oauth2-client-creds-grant-flow.md).

GET shows a consent page (pick the signed-in user, Accept/Cancel) that posts back to the same URL; the tenant's
``auto_consent`` setting skips the page. Outcomes:

* an admin accepts → tenant consented, the app's configured permissions granted, 302 to
  ``redirect_uri?admin_consent=True&tenant=<tid>&state=...`` (v2 adds ``&scope=``);
* Cancel → 302 with ``error=access_denied`` and AADSTS65004; a non-admin → ``error=access_denied`` and AADSTS90094;
* unknown app → AADSTS700016 page; unregistered redirect URI → AADSTS50011 page (never a redirect);
  unknown tenant → AADSTS90002 page; v2 with ``common`` → AADSTS50059 page (the v2 doc forbids ``common``).
"""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .pages import error_page, redirect, user_choices, user_form
from .world import GRAPH_RESOURCE, Tenant, User

V2_SCOPE = GRAPH_RESOURCE + "/.default"


def rules() -> list[Rule]:
    return [
        Rule("/<tenant>/adminconsent", endpoint=admin_consent_v1, methods=["GET", "POST"]),
        Rule("/<tenant>/v2.0/adminconsent", endpoint=admin_consent_v2, methods=["GET", "POST"]),
    ]


def admin_consent_v1(sim, request: Request, tenant: str) -> Response:
    return _flow(sim, request, tenant, v2=False)


def admin_consent_v2(sim, request: Request, tenant: str) -> Response:
    return _flow(sim, request, tenant, v2=True)


def _candidates(sim, tenant: str) -> tuple[list[Tenant], Response | None]:
    if tenant.lower() in ("common", "organizations"):
        return sorted(sim.world.tenants.values(), key=lambda t: t.domain), None
    t = sim.world.tenant(tenant)
    if t is None:
        return [], error_page(
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
    return [t], None


def _flow(sim, request: Request, tenant: str, v2: bool) -> Response:
    params = request.values
    app = sim.world.app
    cid, redirect_uri, state, scope = (params.get(k) for k in ("client_id", "redirect_uri", "state", "scope"))
    if cid != app.client_id:
        return error_page(700016, f"Application with identifier '{cid}' was not found in the directory.")
    if not redirect_uri or redirect_uri not in app.redirect_uris:
        return error_page(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the "
            f"redirect URIs configured for the application '{cid}'. Make sure the redirect URI sent in "
            "the request matches one added to your application in the Azure portal.",
        )
    if v2 and tenant.lower() == "common":
        return error_page(
            50059,
            "No tenant-identifying information found in either the request or implied by any "
            "provided credentials. Use a tenant id, domain or 'organizations' with v2 admin consent.",
        )
    extra = {"scope": scope} if v2 else {}
    if v2 and not scope:
        return redirect(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "AADSTS900144: The request body must contain the following parameter: 'scope'.",
                "state": state,
            },
        )
    if v2 and V2_SCOPE not in scope.split():
        return redirect(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "AADSTS70011: The provided "
                f"value for the input parameter 'scope' is not valid. The scope {scope} is not valid; "
                f"application permissions need '{V2_SCOPE}'.",
                "state": state,
            },
        )
    with sim.world.lock:
        tenants, err = _candidates(sim, tenant)
        if err:
            return err
        if request.method == "GET":
            auto = next((t for t in tenants if t.auto_consent), None)
            if auto is None:
                users = user_choices(tenants)
                hidden = {"client_id": cid, "redirect_uri": redirect_uri, "state": state, **extra}
                return user_form(f"Permissions requested: {app.display_name}", request.path, hidden, users, "Accept")
            mode, upn = auto.auto_consent.get("mode", "approve"), auto.auto_consent.get("user")
            if mode == "decline":
                return _declined(redirect_uri, state, extra)
            user = (
                auto.user(upn)
                if upn
                else next((u for u in auto.users.values() if u.is_admin == (mode == "approve")), None)
            )
            return _decide(sim, auto, user, redirect_uri, state, extra, mode == "non_admin")
        if params.get("action") != "accept":
            return _declined(redirect_uri, state, extra)
        upn = params.get("login_hint", "")
        for t in tenants:
            user = t.user(upn)
            if user:
                return _decide(sim, t, user, redirect_uri, state, extra, False)
        return error_page(50034, f"The user account {upn} does not exist in the directory.")


def _declined(redirect_uri: str, state, extra: dict) -> Response:
    return redirect(
        redirect_uri,
        {
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
            "state": state,
            **extra,
        },
    )


def _decide(
    sim, t: Tenant, user: User | None, redirect_uri: str, state, extra: dict, force_non_admin: bool
) -> Response:
    if user is None or force_non_admin or not user.is_admin:
        return redirect(
            redirect_uri,
            {
                "error": "access_denied",
                "error_description": "AADSTS90094: The grant requires admin permission.",
                "state": state,
                **extra,
            },
        )
    t.consented = True
    t.grants |= set(sim.world.app.permissions)
    sim.stats["admin_consents"] += 1
    return redirect(redirect_uri, {"admin_consent": "True", "tenant": t.id, "state": state, **extra})
