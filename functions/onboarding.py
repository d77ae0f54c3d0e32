"""Tenant onboarding over HTTP: start admin consent, Microsoft's redirect back, the RBAC script."""

import azure.functions as func
from pydantic import BaseModel, Field, ValidationError

from functions.guard import admin_api, current_principal
from functions.http import actor_of, handles_errors, json_response, parse_json, parse_query
from shared import bootstrap
from shared.admin.principal import Need
from shared.analytics.aggregation import REBUILD_SETTINGS
from shared.models import TenantSettingsUpdate
from shared.onboarding import offboarding, tenants
from shared.onboarding import use_cases as onboarding
from shared.onboarding.consent import CallbackParams, invalid_callback
from shared.onboarding.consent_page import PAGE_HEADERS, render
from shared.onboarding.rbac_script import RbacScriptRequest
from shared.ops import audit

bp = func.Blueprint()


class AuditQuery(BaseModel):
    limit: int = Field(default=100, ge=1, le=1000)


@admin_api(bp, "tenants", ["POST"], need=Need.signed_in, body=onboarding.StartOnboarding,
           summary="Add tenant: the admin-consent link (and a request-consent link) for the signed-in tenant")
def start_onboarding(req: func.HttpRequest) -> func.HttpResponse:
    body = parse_json(req, onboarding.StartOnboarding) if req.get_body() else onboarding.StartOnboarding()
    return json_response(onboarding.start(bootstrap.get_services(), body, actor=actor_of(req),
                                          principal=current_principal()), 201)


@bp.route(route="consent/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def consent_callback(req: func.HttpRequest) -> func.HttpResponse:
    try:
        params = CallbackParams.model_validate({k: v[:2000] for k, v in req.params.items()})
    except ValidationError:  # longer than anything Microsoft sends: not a redirect of ours
        outcome = invalid_callback()
    else:
        outcome = onboarding.finish_consent(bootstrap.get_services(), params)
    return func.HttpResponse(render(outcome), status_code=200 if outcome.ok else 400, mimetype="text/html",
                             charset="utf-8", headers=PAGE_HEADERS)


@admin_api(bp, "tenants/{tenant_id}/rbac-script", ["GET"], need=Need.read, query=RbacScriptRequest,
           content="text/plain", summary="The Exchange RBAC for Applications PowerShell script")
def rbac_script(req: func.HttpRequest) -> func.HttpResponse:
    request = parse_query(req, RbacScriptRequest)
    name, text = onboarding.rbac_script_for(bootstrap.get_services(), req.route_params["tenant_id"], request)
    # UTF-8 with a BOM: Windows PowerShell 5.1 reads BOM-less scripts as ANSI and would mangle names.
    return func.HttpResponse(text.encode("utf-8-sig"), status_code=200, mimetype="text/plain", charset="utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "X-Content-Type-Options": "nosniff"})


@admin_api(bp, "tenants/{tenant_id}", ["GET"], need=Need.read, summary="Tenant overview: status, room counts, settings")
def tenant_overview(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(onboarding.tenant_overview(bootstrap.get_services(), req.route_params["tenant_id"]))


@admin_api(bp, "tenants/{tenant_id}/settings", ["GET"], need=Need.read, summary="The tenant's settings")
def tenant_settings_get(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(tenants.get_settings(bootstrap.get_services().tables, req.route_params["tenant_id"]))


@admin_api(bp, "tenants/{tenant_id}/settings", ["PATCH"], need=Need.change, body=TenantSettingsUpdate,
           summary="Change settings")
def tenant_settings_update(req: func.HttpRequest) -> func.HttpResponse:
    change = parse_json(req, TenantSettingsUpdate)
    s = bootstrap.get_services()
    body = tenants.update_settings(s.tables, s.clock, req.route_params["tenant_id"], change, actor=actor_of(req))
    if REBUILD_SETTINGS.intersection(body["changed"]):  # stored figures were computed under the old settings
        s.require_analytics().request_rebuild(req.route_params["tenant_id"])
        body["analytics"] = "rebuild queued"
    return json_response(body)


@admin_api(bp, "tenants/{tenant_id}", ["DELETE"], need=Need.change,
           summary="Offboard: delete subscriptions and data (audit kept)")
def offboard_tenant(req: func.HttpRequest) -> func.HttpResponse:
    body = onboarding.offboard(bootstrap.get_services(), req.route_params["tenant_id"], actor=actor_of(req))
    return json_response(body, 202 if body["status"] == "offboarding" else 200,
                         {"Location": f"/api/tenants/{body['tenant_id']}/offboarding"})


@admin_api(bp, "tenants/{tenant_id}/offboarding", ["GET"], need=Need.read,
           summary="Offboarding progress: status, rows and subscriptions deleted")
def offboarding_progress(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(offboarding.progress(bootstrap.get_services().tables, req.route_params["tenant_id"]))


@bp.queue_trigger(arg_name="msg", queue_name=offboarding.QUEUE, connection="AzureWebJobsStorage")
def offboard_tenant_step(msg: func.QueueMessage) -> None:
    onboarding.offboarding_step(bootstrap.get_services(), msg.get_json())


@admin_api(bp, "tenants/{tenant_id}/audit", ["GET"], need=Need.read, query=AuditQuery,
           summary="Audit log, newest first")
def tenant_audit(req: func.HttpRequest) -> func.HttpResponse:
    query = parse_query(req, AuditQuery)
    tid = tenants.check_tenant_id(req.route_params["tenant_id"])
    return json_response({"tenant_id": tid, "entries": audit.list_entries(bootstrap.get_services().tables,
                                                                          tenant_id=tid, limit=query.limit)})
