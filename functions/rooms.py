"""The room registry, 'Continue setup' (verification) and 'Synchronize room calendars' over HTTP,
plus the room-verify queue trigger and the timer that re-checks RBAC-denied rooms."""

import azure.functions as func

from functions.guard import admin_api
from functions.http import actor_of, json_response, parse_json
from shared import bootstrap
from shared.admin.principal import Need
from shared.errors import InvalidInput
from shared.onboarding import rooms, verification
from shared.onboarding import use_cases as onboarding
from shared.onboarding.room_import import RoomUpdate

bp = func.Blueprint()
_MAX_BODY = 2 * 1024 * 1024


@admin_api(bp, "tenants/{tenant_id}/rooms", ["GET"], need=Need.read, summary="Rooms with sync status, reason and fix")
def list_rooms(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(rooms.listing(bootstrap.get_services().tables, req.route_params["tenant_id"]))


@admin_api(bp, "tenants/{tenant_id}/rooms", ["POST"], need=Need.change,
           summary="Register rooms (JSON or text/csv); bad rows reported, good rows kept")
def register_rooms(req: func.HttpRequest) -> func.HttpResponse:
    payload, csv_text = _rooms_body(req)
    result = onboarding.register_rooms(bootstrap.get_services(), req.route_params["tenant_id"], payload,
                                       csv_text=csv_text, actor=actor_of(req))
    return json_response(result, 201 if result["added"] else 200)


def _rooms_body(req: func.HttpRequest):
    body = req.get_body()
    if len(body) > _MAX_BODY:
        raise InvalidInput("request body is larger than 2 MiB", fix="split the import into several requests")
    if (req.headers.get("content-type") or "").lower().startswith("text/csv"):
        try:
            return None, body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("CSV must be UTF-8 encoded", fix="save the file as 'CSV UTF-8'") from None
    try:
        return req.get_json(), None
    except (ValueError, RecursionError):
        raise InvalidInput("request body is not valid JSON",
                           fix='send {"rooms": [{"email": ...}]}, or CSV with Content-Type: text/csv') from None


@admin_api(bp, "tenants/{tenant_id}/rooms/import", ["POST"], need=Need.change,
           summary="Import the tenant's rooms from Graph /places")
def import_rooms(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(onboarding.import_rooms(bootstrap.get_services(), req.route_params["tenant_id"],
                                                 actor=actor_of(req)))


@admin_api(bp, "tenants/{tenant_id}/rooms/{email}", ["PATCH"], need=Need.change, body=RoomUpdate,
           summary="Change a room")
def update_room(req: func.HttpRequest) -> func.HttpResponse:
    change = parse_json(req, RoomUpdate)
    s = bootstrap.get_services()
    return json_response(rooms.update(s.tables, s.clock, req.route_params["tenant_id"], req.route_params["email"],
                                      change, actor=actor_of(req)))


@admin_api(bp, "tenants/{tenant_id}/rooms/{email}", ["DELETE"], need=Need.change, summary="Remove a room")
def remove_room(req: func.HttpRequest) -> func.HttpResponse:
    s = bootstrap.get_services()
    return json_response(rooms.remove(s.tables, s.clock, s.graph, req.route_params["tenant_id"],
                                      req.route_params["email"], actor=actor_of(req)))


@admin_api(bp, "tenants/{tenant_id}/verify", ["POST"], need=Need.change,
           summary="Continue setup: check every room live against Graph")
def start_verification(req: func.HttpRequest) -> func.HttpResponse:
    tid = req.route_params["tenant_id"]
    body = onboarding.verify(bootstrap.get_services(), tid, actor=actor_of(req))
    return json_response(body, 202, {"Location": f"/api/tenants/{body['tenant_id']}/verify"})


@admin_api(bp, "tenants/{tenant_id}/verify", ["GET"], need=Need.read, summary="Continue setup: progress")
def verification_progress(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(verification.progress(bootstrap.get_services().tables, req.route_params["tenant_id"]))


@admin_api(bp, "tenants/{tenant_id}/sync", ["POST"], need=Need.change, summary="Synchronize room calendars")
def start_sync(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(onboarding.synchronise(bootstrap.get_services(), req.route_params["tenant_id"],
                                                actor=actor_of(req)))


@bp.queue_trigger(arg_name="msg", queue_name=verification.QUEUE, connection="AzureWebJobsStorage")
def verify_room(msg: func.QueueMessage) -> None:
    onboarding.verify_room_message(bootstrap.get_services(), msg.get_json())


@bp.timer_trigger(arg_name="timer", schedule="0 */15 * * * *", run_on_startup=False, use_monitor=True)
def recheck_denied_rooms(timer: func.TimerRequest) -> None:
    s = bootstrap.get_services()
    verification.recheck_denied(s.tables, s.queues, s.clock)
