"""Health. Anonymous: only healthy/unhealthy (a probe needs no more, and an attacker learns
nothing about the deployment); with a function key, /api/health/details names each part."""

import azure.functions as func

from functions.guard import admin_api
from functions.http import json_response
from shared import bootstrap
from shared.admin.principal import Need
from shared.config import get_settings
from shared.errors import RoomCalError
from shared.ops.health import check_health

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    report = _report()
    return json_response({"status": report["status"]}, _status(report))


@admin_api(bp, "health/details", ["GET"], need=Need.operator,
           summary="Health in detail: version, table and queue reachability, settings sanity")
def health_details(req: func.HttpRequest) -> func.HttpResponse:
    report = _report()
    return json_response(report, _status(report))


def _report() -> dict:
    try:
        services = bootstrap.get_services()
        return check_health(settings_problem=None, settings=get_settings(),
                            tables=services.tables, queues=services.queues)
    except RoomCalError as exc:
        return check_health(settings_problem=exc.message)


def _status(report: dict) -> int:
    return 200 if report["status"] == "healthy" else 503
