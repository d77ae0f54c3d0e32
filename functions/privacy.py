"""Erasure of one person (GDPR art. 17) over HTTP, the queue that rewrites each room's rows, and
the deployment-wide key rotation (admin key only: it acts for every tenant; docs/key-rotation.md)."""

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from functions.guard import admin_api
from functions.http import actor_of, json_response, parse_json
from shared import bootstrap
from shared.admin.principal import Need
from shared.ops import erasure
from shared.sync import erasure as erased_people
from shared.sync.key_rotation import rotation_status

bp = func.Blueprint()


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254, description="the person's e-mail address")


@admin_api(bp, "tenants/{tenant_id}/erasures", ["POST"], need=Need.change, body=ErasureRequest,
           summary="Erase one person (GDPR art. 17): their address becomes a stable pseudonym everywhere")
def erase_person(req: func.HttpRequest) -> func.HttpResponse:
    body = parse_json(req, ErasureRequest)
    return json_response(erasure.erase_person(bootstrap.get_services(), req.route_params["tenant_id"], body.email,
                                              actor=actor_of(req)), 202)


@bp.queue_trigger(arg_name="msg", queue_name=erased_people.QUEUE, connection="AzureWebJobsStorage")
def erase_person_in_room(msg: func.QueueMessage) -> None:
    s = bootstrap.get_services()
    erased_people.rewrite_room(s.tables, msg.get_json(), hash_key=s.settings.hash_key.get_secret_value())


@admin_api(bp, "ops/key-rotation", ["GET"], need=Need.operator, key_level=func.AuthLevel.ADMIN,
           summary="Hash-key rotation progress (deployment-wide)")
def key_rotation_status(req: func.HttpRequest) -> func.HttpResponse:
    s = bootstrap.get_services()
    return json_response(rotation_status(s.tables, s.settings))


@admin_api(bp, "ops/key-rotation/client-states", ["POST"], need=Need.operator, key_level=func.AuthLevel.ADMIN,
           summary="Give every subscription a fresh clientState (deployment-wide)")
def rotate_client_states(req: func.HttpRequest) -> func.HttpResponse:
    counts = bootstrap.get_services().require_subscription_manager().enqueue_rotation()
    return json_response({"subscriptions_queued": counts["rotate"], "invalid_rows": counts["invalid_row"]}, 202)
