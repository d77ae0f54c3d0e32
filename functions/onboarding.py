"""Tenant onboarding over HTTP: start admin consent, Microsoft's redirect back, the RBAC script."""

import azure.functions as func

from functions.http import actor_of, handles_errors, json_response, parse_json, parse_query
from shared import bootstrap
from shared.services import onboarding
from shared.services.consent import CallbackParams
from shared.services.consent_page import PAGE_HEADERS, render
from shared.services.rbac_script import RbacScriptRequest

bp = func.Blueprint()


@bp.route(route="tenants", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def start_onboarding(req: func.HttpRequest) -> func.HttpResponse:
    body = parse_json(req, onboarding.StartOnboarding) if req.get_body() else onboarding.StartOnboarding()
    return json_response(onboarding.start(bootstrap.get_services(), body, actor=actor_of(req)), 201)


@bp.route(route="consent/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def consent_callback(req: func.HttpRequest) -> func.HttpResponse:
    params = CallbackParams.model_validate({k: v[:2000] for k, v in req.params.items()})
    outcome = onboarding.finish_consent(bootstrap.get_services(), params)
    return func.HttpResponse(render(outcome), status_code=200 if outcome.ok else 400, mimetype="text/html",
                             charset="utf-8", headers=PAGE_HEADERS)


@bp.route(route="tenants/{tenant_id}/rbac-script", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def rbac_script(req: func.HttpRequest) -> func.HttpResponse:
    request = parse_query(req, RbacScriptRequest)
    name, text = onboarding.rbac_script_for(bootstrap.get_services(), req.route_params["tenant_id"], request)
    # UTF-8 with a BOM: Windows PowerShell 5.1 reads BOM-less scripts as ANSI and would mangle names.
    return func.HttpResponse(text.encode("utf-8-sig"), status_code=200, mimetype="text/plain", charset="utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "X-Content-Type-Options": "nosniff"})
