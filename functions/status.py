"""GET /api/tenants/{tenant_id}/status: every room's free/busy, current and next meeting now."""

import azure.functions as func

from functions.guard import admin_api
from functions.http import json_response
from shared import bootstrap
from shared.admin.principal import Need
from shared.ops.room_status import tenant_room_status

bp = func.Blueprint()


@admin_api(bp, "tenants/{tenant_id}/status", ["GET"], need=Need.read,
           summary="Live status: every room's free/busy, current and next meeting")
def tenant_status(req: func.HttpRequest) -> func.HttpResponse:
    s = bootstrap.get_services()
    return json_response(tenant_room_status(s.tables, s.clock, req.route_params.get("tenant_id", "")))
