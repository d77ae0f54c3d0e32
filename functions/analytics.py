"""Room analytics over HTTP (JSON, CSV, XLSX), the recompute queue and the timer that re-enqueues lost marks.

    GET  /api/tenants/{tenant}/analytics/{table}?from=YYYY-MM-DD&to=YYYY-MM-DD[&building=&floor=&room=]
         [&format=json|csv|xlsx][&granularity=day|week][&top=5]
         table: rooms, summary, heatmap, lead-times, sizes, groups, findings, series
    POST /api/tenants/{tenant}/analytics/rebuild      → 202, a full rebuild is queued
"""

import azure.functions as func

from functions.guard import admin_api
from functions.http import json_response, parse_query
from shared import bootstrap, keys
from shared.admin.principal import Need
from shared.analytics import exports
from shared.analytics.aggregation import QUEUE
from shared.analytics.queries import TABLES, Analytics, AnalyticsQuery
from shared.errors import InvalidInput, NotFound

bp = func.Blueprint()
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def authorise(req: func.HttpRequest) -> str:
    """The route's tenant, normalised; functions.guard has already checked the caller may act for it."""
    return keys.normalise_tenant_id(req.route_params.get("tenant_id"))


@admin_api(bp, "tenants/{tenant_id}/analytics/{table}", ["POST"], need=Need.change,
           summary="Queue a full rebuild of the tenant's aggregates (table=rebuild)")
def analytics_rebuild(req: func.HttpRequest) -> func.HttpResponse:
    tenant, table = authorise(req), req.route_params.get("table", "")
    s = bootstrap.get_services()
    if table != "rebuild":
        raise NotFound(f"no analytics action {table[:40]!r}", fix="POST .../analytics/rebuild")
    s.tables.get("Tenants", "tenant", tenant)  # 404 for an unknown tenant
    s.require_analytics().request_rebuild(tenant)
    return json_response({"tenant": tenant, "rebuild": "queued"}, 202)


@admin_api(bp, "tenants/{tenant_id}/analytics/{table}", ["GET"], need=Need.read, query=AnalyticsQuery,
           content=f"application/json text/csv {_XLSX}",
           summary="Analytics: summary, rooms, heatmap, lead-times, sizes, groups, findings, series")
def analytics(req: func.HttpRequest) -> func.HttpResponse:
    tenant, table = authorise(req), req.route_params.get("table", "")
    s = bootstrap.get_services()
    if table not in (*TABLES, "summary"):
        raise NotFound(f"no analytics table {table[:40]!r}",
                       fix="use one of: summary, " + ", ".join(TABLES))
    query = parse_query(req, AnalyticsQuery)
    service = Analytics(s.tables, s.require_aggregates(), s.clock, max_days=s.settings.analytics_max_days)
    body = service.summary(tenant, query) if table == "summary" else service.table(tenant, table, query)
    return _render(table, body, query.format)


def _render(table: str, body: dict, fmt: str) -> func.HttpResponse:
    if fmt == "json":
        return json_response(body)
    name = f"roomcal-{table}-{body['from']}-{body['to']}.{fmt}"
    data = exports.to_csv(table, body) if fmt == "csv" else exports.to_xlsx(table, body)
    if fmt not in ("csv", "xlsx"):  # pragma: no cover - AnalyticsQuery allows only these
        raise InvalidInput(f"unknown format {fmt!r}", fix="use format=json, csv or xlsx")
    return func.HttpResponse(data, status_code=200, mimetype="text/csv" if fmt == "csv" else _XLSX,
                             charset="utf-8" if fmt == "csv" else None,
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.queue_trigger(arg_name="msg", queue_name=QUEUE, connection="AzureWebJobsStorage")
def recompute_analytics(msg: func.QueueMessage) -> None:
    bootstrap.get_services().require_analytics().handle(msg.get_json())


@bp.timer_trigger(arg_name="timer", schedule="%ROOMCAL_ANALYTICS_SWEEP_SCHEDULE%", use_monitor=True)
def sweep_analytics_marks(timer: func.TimerRequest) -> None:
    bootstrap.get_services().require_analytics().sweep_marks()
