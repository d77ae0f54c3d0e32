"""Occupancy sensors over HTTP and the occupancy-ingest queue: ingest, sensor health, queued-batch reports."""

import azure.functions as func

from functions.http import handles_errors, json_response
from shared import bootstrap
from shared.occupancy.ingest import QUEUE

bp = func.Blueprint()


@bp.route(route="tenants/{tenant_id}/occupancy", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def ingest_occupancy(req: func.HttpRequest) -> func.HttpResponse:
    report = bootstrap.get_services().occupancy.ingest_body(
        req.route_params["tenant_id"], req.get_body(), req.headers.get("content-type") or "")
    stored = report["accepted"] + report["duplicates"]
    if report["received"] and not stored:
        return json_response({"error": "invalid_input", "message": "no row could be stored",
                              "fix": "correct the rows listed in detail.errors", "detail": report}, 400)
    return json_response(report)


@bp.route(route="tenants/{tenant_id}/occupancy/health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def sensor_health(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.get_services().occupancy.health(req.route_params["tenant_id"]))


@bp.route(route="tenants/{tenant_id}/occupancy/reports", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@handles_errors
def queued_reports(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.get_services().occupancy.queued_reports(req.route_params["tenant_id"]))


@bp.queue_trigger(arg_name="msg", queue_name=QUEUE, connection="AzureWebJobsStorage")
def ingest_queued_occupancy(msg: func.QueueMessage) -> None:
    bootstrap.get_services().occupancy.ingest_message(msg.get_json())
