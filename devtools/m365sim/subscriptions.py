"""``/subscriptions`` for Outlook events (subscription.md,
subscription-post-subscriptions.md, change-notifications-delivery-webhooks.md).

Create validates the body, resolves the mailbox through the Graph pipeline (so the app needs read access: an
Entra grant or Exchange RBAC), checks quota and duplicates, runs the validation handshake against
notificationUrl (and lifecycleNotificationUrl) and answers 201. Subscriptions belong to the calling app in the
calling tenant; other apps' subscriptions answer 404.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import graph_errors as ge
from . import handshake
from .substore import Subscription

CHANGE_TYPES = ("created", "updated", "deleted")
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
# /users/{id|upn}/events, users/{id}/events, /users('{id}')/events
RESOURCE = re.compile(r"^/?users(?:/([^/()]+)|\('([^']+)'\))/events/?$", re.IGNORECASE)
CREATE_FIELDS = {
    "changeType",
    "notificationUrl",
    "lifecycleNotificationUrl",
    "resource",
    "expirationDateTime",
    "clientState",
    "latestSupportedTlsVersion",
    "includeResourceData",
    "encryptionCertificate",
    "encryptionCertificateId",
    "notificationUrlAppId",
    "notificationQueryOptions",
    "@odata.type",
}


def rules() -> list[Rule]:
    return [
        Rule("/v1.0/subscriptions", endpoint=collection, methods=["GET", "POST"]),
        Rule("/v1.0/subscriptions/<sid>", endpoint=item, methods=["GET", "PATCH", "DELETE"]),
        Rule("/v1.0/subscriptions/<sid>/reauthorize", endpoint=reauthorize, methods=["POST"]),
    ]


def _body(ctx) -> dict:
    try:
        data = json.loads(ctx.request.get_data() or b"{}")
    except ValueError as exc:
        raise ge.bad_request("Invalid JSON in the request body.") from exc
    if not isinstance(data, dict):
        raise ge.bad_request("The request body must be a JSON object.")
    return data


def _context(ctx, entity: bool = True) -> str:
    return ctx.url("/$metadata#subscriptions" + ("/$entity" if entity else ""))


def _token_expiry(ctx) -> datetime:
    exp = ctx.claims.get("exp")
    return datetime.fromtimestamp(int(exp), UTC) if exp else ctx.world.clock.now()


def parse_change_types(value: object) -> list[str]:
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else []
    if not parts or any(p not in CHANGE_TYPES for p in parts) or len(set(parts)) != len(parts):
        raise ge.bad_request(
            "Invalid 'changeType': a comma-separated list of created, updated, deleted is required.", "InvalidRequest"
        )
    return parts


def expiration(ctx, value: object) -> datetime:
    """At least now + 45 min (raised silently); at most the documented maximum for events. Beyond it Graph answers
    400 ``ExtensionError`` "Subscription expiration can only be N minutes in the future." (observed: docs-contrib
    issue 7726; the docs only say such requests "will fail in the future")."""
    s = ctx.world.settings
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ge.bad_request("Invalid 'expirationDateTime'.", "InvalidRequest") from exc
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    now = ctx.world.clock.now()
    if when > now + timedelta(minutes=s.notify_max_lifetime_min, seconds=5):
        raise ge.bad_request(
            f"Subscription expiration can only be {s.notify_max_lifetime_min} minutes in the future.",
            "ExtensionError",
        )
    return max(when.astimezone(UTC), now + timedelta(seconds=s.notify_min_lifetime_s))


def _validate_urls(ctx, *urls: str | None) -> None:
    s = ctx.world.settings
    for url in urls:
        if url:
            token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
            handshake.validate(url, token, s.notify_validation_timeout_s, s.notify_verify_tls)
            ctx.sim.notifications.count("validations")


def collection(ctx):
    hub = ctx.sim.notifications
    if ctx.request.method == "GET":
        subs = hub.store.owned(ctx.app_id, ctx.tenant.id)
        return ge.json_response({"@odata.context": _context(ctx, False), "value": [x.as_graph() for x in subs]})
    b = _body(ctx)
    unknown = sorted(set(b) - CREATE_FIELDS)
    if unknown:
        raise ge.bad_request(f"Unknown property '{unknown[0]}'.", "InvalidRequest")
    if b.get("includeResourceData"):
        raise ge.bad_request("Rich notifications (includeResourceData) are not emulated.", "InvalidRequest")
    change_types = parse_change_types(b.get("changeType"))
    match = RESOURCE.match(str(b.get("resource") or ""))
    if not match:
        raise ge.bad_request(f"Resource '{b.get('resource')}' is not supported.", "InvalidRequest")
    url = handshake.check_url(b.get("notificationUrl"), "notificationUrl")
    lifecycle = b.get("lifecycleNotificationUrl")
    if lifecycle is not None:
        lifecycle = handshake.check_url(lifecycle, "lifecycleNotificationUrl")
    client_state = b.get("clientState")
    limit = ctx.world.settings.notify_client_state_max
    if client_state is not None and (not isinstance(client_state, str) or len(client_state) > limit):
        raise ge.bad_request(f"'clientState' must be a string of at most {limit} characters.", "InvalidRequest")
    tls = b.get("latestSupportedTlsVersion") or "v1_2"
    if tls not in TLS_VERSIONS:
        raise ge.bad_request("Invalid 'latestSupportedTlsVersion'.", "InvalidRequest")
    expires = expiration(ctx, b.get("expirationDateTime"))
    mbx = _subscribed_mailbox(ctx, match.group(1) or match.group(2))
    with hub.store.lock:
        if len(hub.store.for_mailbox(ctx.tenant.id, mbx.id)) >= ctx.world.settings.notify_max_per_mailbox:
            # documented: 403 with the limit in the message (exact text undocumented)
            raise ge.GraphError(
                403,
                "ExtensionError",
                "Operation: Create; Exception: [Status Code: Forbidden; Reason: The number of subscriptions for "
                f"this mailbox has reached the limit of {ctx.world.settings.notify_max_per_mailbox}.]",
            )
        _conflict(hub, ctx, mbx, change_types)
    _validate_urls(ctx, url, lifecycle)
    now = ctx.world.clock.now()
    sub = Subscription(
        id=str(uuid.uuid4()),
        app_id=ctx.app_id,
        tenant_id=ctx.tenant.id,
        creator_id=ctx.claims.get("oid") or ctx.app_id,
        mailbox=mbx.email.lower(),
        mailbox_id=mbx.id,
        resource=b["resource"],
        change_types=change_types,
        notification_url=url,
        lifecycle_url=lifecycle,
        expiration=expires,
        client_state=client_state,
        tls_version=tls,
        token_expires=_token_expiry(ctx),
        created=now,
    )
    with hub.store.lock:
        _conflict(hub, ctx, mbx, change_types)  # a parallel create may have won while we validated
        hub.store.add(sub)
    hub.count("subscriptions_created")
    return ge.json_response({"@odata.context": _context(ctx), **sub.as_graph()}, 201)


def _subscribed_mailbox(ctx, ident: str):
    """The mailbox through the Graph pipeline; its 403/404 come back wrapped the way the subscription service
    wraps Exchange's answer: ``ExtensionError`` "Operation: Create; Exception: [Status Code: Forbidden; Reason:
    Forbidden]" (docs-contrib issue 7625, a room calendar) or "[Status Code: NotFound; Reason: …]" (issue 5988)."""
    try:
        return ctx.mailbox(ident)
    except ge.GraphError as exc:
        if exc.status == 403:
            raise ge.GraphError(403, "ExtensionError",
                                "Operation: Create; Exception: [Status Code: Forbidden; Reason: Forbidden]") from exc
        if exc.status == 404:
            wrapped = f"Operation: Create; Exception: [Status Code: NotFound; Reason: {exc.message}]"
            raise ge.GraphError(404, "ExtensionError", wrapped) from exc
        raise


def _conflict(hub, ctx, mbx, change_types) -> None:
    dup = hub.store.duplicate(ctx.app_id, ctx.tenant.id, mbx.id, change_types)
    if dup:
        raise ge.GraphError(
            409, "ObjectIdentifierInUse", f"Subscription Id {dup.id} already exists for the requested combination"
        )


def _own(ctx, sid: str) -> Subscription:
    sub = ctx.sim.notifications.store.get(sid)
    if sub is None or sub.app_id != ctx.app_id or sub.tenant_id != ctx.tenant.id:
        raise ge.GraphError(404, "ResourceNotFound", f"The object was not found: subscription '{sid}'.")
    return sub


def item(ctx, sid: str):
    hub = ctx.sim.notifications
    sub = _own(ctx, sid)
    if ctx.request.method == "DELETE":
        hub.store.remove(sub.id)
        hub.count("subscriptions_deleted")
        return Response(status=204)
    if ctx.request.method == "PATCH":
        b = _body(ctx)
        if "lifecycleNotificationUrl" in b:  # change-notifications-lifecycle-events.md: only at creation
            raise ge.bad_request(
                "'lifecycleNotificationUrl' can only be set when the subscription is created.", "InvalidRequest"
            )
        unknown = sorted(set(b) - {"expirationDateTime", "notificationUrl", "@odata.type"})
        if unknown:
            raise ge.bad_request(f"Property '{unknown[0]}' cannot be updated.", "InvalidRequest")
        expires = expiration(ctx, b["expirationDateTime"]) if "expirationDateTime" in b else sub.expiration
        url = sub.notification_url
        if "notificationUrl" in b and b["notificationUrl"] != url:  # allowed by the newest subscription page
            url = handshake.check_url(b["notificationUrl"], "notificationUrl")
            _validate_urls(ctx, url)
        with hub.store.lock:
            sub.expiration, sub.notification_url = expires, url
            sub.token_expires, sub.reauth_sent = _token_expiry(ctx), None  # renewing also reauthorizes
        hub.count("subscriptions_renewed")
    return ge.json_response({"@odata.context": _context(ctx), **sub.as_graph()})


def reauthorize(ctx, sid: str):
    """subscription-reauthorize.md: no body, 204; the expiry stays, the token is the caller's."""
    hub = ctx.sim.notifications
    sub = _own(ctx, sid)
    with hub.store.lock:
        sub.token_expires, sub.reauth_sent = _token_expiry(ctx), None
    hub.count("subscriptions_reauthorized")
    hub.wake()
    return Response(status=204)
