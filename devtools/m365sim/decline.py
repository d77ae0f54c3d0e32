"""``POST /users/{id}/events/{id}/decline`` (event-decline.md): 202 with an empty body; needs write access.

Which Exchange checks first, the id's format or the caller's write permission, is undocumented (a
malformed id most likely answers 400 ``ErrorInvalidIdMalformed`` on real Exchange). ``settings.decline_check_order``
switches between ``id_first`` (default: a malformed id is 400 whatever the permission) and ``permission_first``
(a read-only caller gets 403 before the id is looked at). A well-formed id that does not exist answers 404
``ErrorItemNotFound`` only after the permission check, in both orders."""

from __future__ import annotations

import json

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import graph_errors as ge
from . import organizer
from .calendar import series_has_occurrence
from .events import check_id_format, find


def rules() -> list[Rule]:
    return [
        Rule("/v1.0/users/<user>/events/<event>/decline", endpoint=post_decline, methods=["POST"]),
        Rule("/v1.0/users/<user>/calendar/events/<event>/decline", endpoint=post_decline, methods=["POST"]),
    ]


def post_decline(ctx, user: str, event: str):
    raw = ctx.request.get_data() or b"{}"
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ge.bad_request("Unable to read JSON request payload.", "UnableToReadJson") from exc
    if not isinstance(body, dict):
        raise ge.bad_request("Unable to read JSON request payload.", "UnableToReadJson")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ge.bad_request("Invalid value for 'comment'.", "ErrorInvalidRequest")
    send_response = body.get("sendResponse", True)
    if not isinstance(send_response, bool):
        raise ge.bad_request("Invalid value for 'sendResponse'.", "ErrorInvalidRequest")
    if ctx.world.settings.decline_check_order == "id_first":
        check_id_format(event)
    mbx = ctx.mailbox(user, write=True)
    with ctx.world.mutate():
        copy, key = find(ctx, mbx, event)
        if key and not series_has_occurrence(copy.meeting, key):
            raise ge.item_not_found()
        if body.get("proposedNewTime") is not None and not send_response:
            # event-decline.md: proposedNewTime only with sendResponse true (and allowNewTimeProposals)
            raise ge.bad_request("proposedNewTime requires sendResponse to be true.", "ErrorInvalidRequest")
        if copy.mailbox == copy.meeting.organizer.email.lower() and key is None:
            raise ge.bad_request(
                "Your request can't be completed. You can't respond to a meeting you organized.", "ErrorInvalidRequest"
            )
        organizer.decline(ctx.world, ctx.tenant, copy, key)
        ctx.sim.declines.append(
            {
                "tenant": ctx.tenant.id,
                "mailbox": mbx.email.lower(),
                "eventId": event,
                "comment": comment,
                "sendResponse": send_response,
                "at": ctx.world.clock.now().isoformat(),
            }
        )
    return Response(status=202)
