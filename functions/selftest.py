import azure.functions as func

from functions.guard import admin_api
from functions.http import json_response
from shared import bootstrap
from shared.admin.principal import Need
from shared.ops import selftest

bp = func.Blueprint()


@admin_api(bp, "selftest", ["POST"], need=Need.operator, summary="End-to-end probe: HTTP, queue, table")
def selftest_start(req: func.HttpRequest) -> func.HttpResponse:
    s = bootstrap.get_services()
    probe = selftest.start(s.queues, s.clock)
    return json_response(probe, 202, {"Location": f"/api/selftest/{probe['id']}"})


@admin_api(bp, "selftest/{probe_id}", ["GET"], need=Need.operator, summary="A probe's result")
def selftest_result(req: func.HttpRequest) -> func.HttpResponse:
    s = bootstrap.get_services()
    return json_response(selftest.result(req.route_params["probe_id"], s.tables))


@bp.queue_trigger(arg_name="msg", queue_name=selftest.QUEUE, connection="AzureWebJobsStorage")
def selftest_receive(msg: func.QueueMessage) -> None:
    s = bootstrap.get_services()
    selftest.record(msg.get_json(), dequeue_count=msg.dequeue_count or 1, tables=s.tables, clock=s.clock)
