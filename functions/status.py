"""GET /api/tenants/{tenant_id}/status: every room's free/busy, current and next meeting now."""

import azure.functions as func

from functions.http import handles_errors, json_response
from shared import bootstrap
from shared.ops.room_status import tenant_room_status

bp = func.Blueprint()


@bp.route(route="tenants/{tenant_id}/status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def tenant_status(req: func.HttpRequest) -> func.HttpResponse:
    s = bootstrap.get_services()
    return json_response(tenant_room_status(s.tables, s.clock, req.route_params.get("tenant_id", "")))
