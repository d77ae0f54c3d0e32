"""A small app for the dev host's integration tests: HTTP → queue → table, a failing queue
trigger, a slow one, and a timer. Queue and table names come from settings (``%NAME%``)."""

import functools
import json
import os
import time
import uuid

import azure.functions as func

from shared.adapters.queues import AzureMessageQueue
from shared.adapters.tables import AzureTableStore

STORAGE = "AzureWebJobsStorage"  # the host storage connection setting
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@functools.cache
def _tables() -> AzureTableStore:
    return AzureTableStore(os.environ[STORAGE])


def _record(partition: str, row: str, **fields) -> None:
    _tables().upsert(os.environ["DH_TABLE"], {"PartitionKey": partition, "RowKey": row, **fields})


@app.route(route="items/{item_id:int}", methods=["POST"])
def enqueue(req: func.HttpRequest) -> func.HttpResponse:
    AzureMessageQueue(os.environ[STORAGE]).send(
        os.environ["DH_WORK_QUEUE"], {"item": int(req.route_params["item_id"]), "note": req.get_json().get("note")})
    return func.HttpResponse(json.dumps({"queued": True}), status_code=202, mimetype="application/json")


@app.route(route="relay/{item_id:int}", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="%DH_WORK_QUEUE%", connection=STORAGE)
def relay(req: func.HttpRequest, out: func.Out[list[str]]) -> func.HttpResponse:
    """The same work item as ``enqueue``, but written by the host through a queue output binding."""
    out.set([json.dumps({"item": int(req.route_params["item_id"]), "note": req.get_json().get("note")})])
    return func.HttpResponse(status_code=202)


@app.route(route="echo/{name:alpha}/{extra?}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def echo(req: func.HttpRequest) -> func.HttpResponse:
    body = {"method": req.method, "url": req.url, "params": dict(req.params), "route": dict(req.route_params),
            "body": req.get_body().decode(), "header": req.headers.get("x-test")}
    return func.HttpResponse(json.dumps(body), mimetype="application/json", headers={"X-Echo": "yes"})


@app.route(route="text", auth_level=func.AuthLevel.ANONYMOUS)
def text(req: func.HttpRequest) -> str:
    return "plain text"


@app.route(auth_level=func.AuthLevel.ANONYMOUS)
def nothing(req: func.HttpRequest) -> None:
    return None


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom")


@app.route(route="admin-only", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    return "admin ok"


@app.queue_trigger(arg_name="msg", queue_name="%DH_WORK_QUEUE%", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    payload = msg.get_json()
    _record("work", msg.id, item=payload["item"], note=payload.get("note"), dequeue_count=msg.dequeue_count,
            pop_receipt=msg.pop_receipt or "", inserted=msg.insertion_time.isoformat())


@app.queue_trigger(arg_name="msg", queue_name="%DH_FAIL_QUEUE%", connection="Storage")
def always_fails(msg: func.QueueMessage) -> None:
    _record("fail", f"{msg.id}-{msg.dequeue_count}", dequeue_count=msg.dequeue_count, body=msg.get_body().decode())
    raise RuntimeError("this handler always fails")


@app.queue_trigger(arg_name="msg", queue_name="%DH_SLOW_QUEUE%", connection="AzureWebJobsStorage")
def slow(msg: func.QueueMessage) -> None:
    _record("slow", f"started-{msg.id}-{msg.dequeue_count}")
    time.sleep(float(os.environ.get("DH_SLOW_SECONDS", "2")))
    _record("slow", f"done-{msg.id}")


@app.timer_trigger(arg_name="timer", schedule="%DH_TICK_SCHEDULE%",
                   run_on_startup=os.environ.get("DH_TICK_STARTUP") == "1")
def tick(timer: func.TimerRequest) -> None:
    _record("tick", uuid.uuid4().hex, past_due=timer.past_due, at=time.time(),
            schedule=json.dumps(timer.schedule), status=json.dumps(timer.schedule_status))
