"""Occupancy sensors over HTTP, the occupancy-ingest queue and the no-show timer: ingest, sensor health, sensor
analytics (JSON/CSV/XLSX), ghost series, the policy simulator, the no-show release (dry run or real)."""

from collections.abc import Callable

import azure.functions as func

from functions.guard import admin_api
from functions.http import json_response
from shared import bootstrap
from shared.admin.principal import Need
from shared.occupancy import exports
from shared.occupancy.ingest import QUEUE
from shared.occupancy.retention import purge_expired_occupancy

bp = func.Blueprint()


@admin_api(bp, "tenants/{tenant_id}/occupancy", ["POST"], need=Need.change,
           summary="Ingest presence samples or intervals (JSON or CSV), per-row report")
def ingest_occupancy(req: func.HttpRequest) -> func.HttpResponse:
    report = bootstrap.get_services().occupancy.ingest_body(
        req.route_params["tenant_id"], req.get_body(), req.headers.get("content-type") or "")
    stored = report["accepted"] + report["duplicates"]
    if report["received"] and not stored:
        return json_response({"error": "invalid_input", "message": "no row could be stored",
                              "fix": "correct the rows listed in detail.errors", "detail": report}, 400)
    return json_response(report)


@admin_api(bp, "tenants/{tenant_id}/occupancy/health", ["GET"], need=Need.read,
           summary="Sensor health per room: last sample, gaps")
def sensor_health(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.get_services().occupancy.health(req.route_params["tenant_id"]))


@admin_api(bp, "tenants/{tenant_id}/occupancy/reports", ["GET"], need=Need.read,
           summary="Reports of queued ingest batches")
def queued_reports(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.get_services().occupancy.queued_reports(req.route_params["tenant_id"]))


@bp.queue_trigger(arg_name="msg", queue_name=QUEUE, connection="AzureWebJobsStorage")
def ingest_queued_occupancy(msg: func.QueueMessage) -> None:
    bootstrap.get_services().occupancy.ingest_message(msg.get_json())


def _table_response(req: func.HttpRequest, build: Callable[[str, dict], dict], rows_key: str,
                    name: str) -> func.HttpResponse:
    """``build(tenant, query parameters)``'s answer as JSON, or its ``rows_key`` rows as CSV or XLSX (``format``)."""
    params = dict(req.params)
    body, fmt = build(req.route_params["tenant_id"], params), params.get("format", "json")
    rows = body[rows_key]
    if fmt == "csv":
        return func.HttpResponse(exports.to_csv(rows), mimetype="text/csv", charset="utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        sheets = {name: rows}
        if isinstance(body.get("summary"), dict):
            sheets["summary"] = [body["summary"]]
        return func.HttpResponse(exports.to_xlsx(sheets), headers={
            "Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return json_response(body)


@admin_api(bp, "tenants/{tenant_id}/analytics/occupancy", ["GET"], need=Need.read,
           summary="Sensor analytics: occupancy, no-shows, unused booked time, meet-ups")
def occupancy_analytics(req: func.HttpRequest) -> func.HttpResponse:
    return _table_response(req, bootstrap.get_services().occupancy.report, "rooms", "occupancy")


@admin_api(bp, "tenants/{tenant_id}/analytics/occupancy/ghost-series", ["GET"], need=Need.read,
           summary="Recurring series that keep ending as no-shows")
def ghost_series(req: func.HttpRequest) -> func.HttpResponse:
    return _table_response(req, bootstrap.get_services().occupancy.ghost_series, "series", "ghost-series")


@admin_api(bp, "tenants/{tenant_id}/noshow/simulate", ["GET"], need=Need.read,
           summary="Policy simulator: what a no-show policy would have released")
def simulate_noshow_policy(req: func.HttpRequest) -> func.HttpResponse:
    return _table_response(req, bootstrap.get_services().occupancy.simulate, "rooms", "noshow-simulation")


@admin_api(bp, "tenants/{tenant_id}/noshow/release", ["POST"], need=Need.change,
           summary="No-show release now (dry_run=true lists, releases nothing)")
def release_noshows(req: func.HttpRequest) -> func.HttpResponse:
    dry_run = (req.params.get("dry_run") or "").lower() in ("1", "true", "yes")
    result = bootstrap.get_services().occupancy.release().sweep(req.route_params["tenant_id"], dry_run=dry_run)
    return json_response(result.as_dict())


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_NOSHOW_SCHEDULE%", use_monitor=True)
def noshow_sweep(timer: func.TimerRequest) -> None:
    occupancy = bootstrap.get_services().occupancy
    if occupancy.graph is not None:
        occupancy.release().sweep_all()


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_RETENTION_SCHEDULE%", use_monitor=True)
def purge_old_occupancy(timer: func.TimerRequest) -> None:
    s = bootstrap.get_services()
    purge_expired_occupancy(s.tables, s.clock)
