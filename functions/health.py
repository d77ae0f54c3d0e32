import azure.functions as func

from functions.http import json_response
from shared import bootstrap
from shared.config import get_settings
from shared.errors import RoomCalError
from shared.ops.health import check_health

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    try:
        services = bootstrap.get_services()
        report = check_health(settings_problem=None, settings=get_settings(),
                              tables=services.tables, queues=services.queues)
    except RoomCalError as exc:
        report = check_health(settings_problem=exc.message)
    return json_response(report, 200 if report["status"] == "healthy" else 503)
