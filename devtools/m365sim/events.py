"""``/users/{id}/events/{id}``, ``/users/{id}/events`` and ``/users/{id}/calendarView`` (event-get.md,
user-list-calendarview.md, event.md)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from werkzeug.routing import Rule

from . import graph_errors as ge
from .calendar import instances
from .eventshape import IANA_BY_WINDOWS, render_instance, render_master
from .world import parse_event_id


def rules() -> list[Rule]:
    return [
        Rule("/v1.0/users/<user>/events/<event>", endpoint=get_event, methods=["GET"]),
        Rule("/v1.0/users/<user>/calendar/events/<event>", endpoint=get_event, methods=["GET"]),
        Rule("/v1.0/users/<user>/events", endpoint=list_events, methods=["GET"]),
        Rule("/v1.0/users/<user>/calendarView", endpoint=calendar_view, methods=["GET"]),
        Rule("/v1.0/users/<user>/calendarview", endpoint=calendar_view, methods=["GET"]),
    ]


def parse_window(args, max_days: int | None = None) -> tuple[datetime, datetime]:
    s, e = args.get("startDateTime") or args.get("startdatetime"), args.get("endDateTime") or args.get("enddatetime")
    if not s or not e:
        raise ge.bad_request(
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
            "ErrorInvalidParameter",
        )
    try:
        start, end = (_parse_dt(v) for v in (s, e))
    except ValueError as exc:
        raise ge.bad_request(f"The value of the parameter is invalid: {exc}", "ErrorInvalidParameter") from exc
    if end <= start:
        raise ge.bad_request(
            "The value of the parameter 'EndDateTime' must be later than 'StartDateTime'.", "ErrorInvalidParameter"
        )
    if max_days is not None and end - start > timedelta(days=max_days):
        # docs-contrib issue 6321 (observed on calendarView; the same limit is assumed for its delta)
        raise ge.bad_request(
            "Your request can't be completed. The range between the start and end dates is greater than the "
            f"allowed range. Maximum number of days: {max_days}",
            "ErrorInvalidRequest",
        )
    return start, end


def _parse_dt(value: str) -> datetime:
    # user-list-calendarview.md: values are read with their own offset; no offset means UTC
    dt = datetime.fromisoformat(value.replace(" ", "+").replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def timezone_pref(prefer: dict) -> tuple[str | None, bool]:
    tz = prefer.get("outlook.timezone")
    if not tz:
        return None, False
    try:
        ZoneInfo(IANA_BY_WINDOWS.get(tz, tz))
    except (KeyError, ValueError):
        return None, False
    return tz, True


def _select(items: list[dict], select: str | None) -> list[dict]:
    if not select:
        return items
    keep = {f.strip() for f in select.split(",") if f.strip()} | {"id", "@odata.etag"}
    return [{k: v for k, v in it.items() if k in keep} for it in items]


def _headers(ctx, tz_applied: bool, tz: str | None, extra: list[str] | None = None) -> dict:
    applied = list(extra or [])
    if tz_applied:
        applied.append(f'outlook.timezone="{tz}"')
    return {"Preference-Applied": ", ".join(applied)} if applied else {}


def check_id_format(ident: str) -> None:
    """400 ErrorInvalidIdMalformed unless ``ident`` is one of the emulator's ids or shaped like an Exchange id."""
    if parse_event_id(ident) is None and not exchange_shaped(ident):
        raise ge.GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def exchange_shaped(ident: str) -> bool:
    """An Exchange REST item id: URL-safe base64 of 0x00 0x03 0x24 0x00, the mailbox GUID as 36 ASCII
    characters, then the store entry id (about 150 characters in all)."""
    try:
        raw = base64.urlsafe_b64decode(ident)
    except (ValueError, TypeError):
        return False
    if len(raw) < 100 or raw[:4] != b"\x00\x03\x24\x00":
        return False
    try:
        uuid.UUID(raw[4:40].decode("ascii"))
    except ValueError:
        return False
    return True


def find(ctx, mbx, ident: str):
    """(copy, occurrence key or None) for an event id in this mailbox, else 404 ErrorItemNotFound."""
    check_id_format(ident)
    parsed = parse_event_id(ident)
    if parsed is None:  # well formed, but not an id this emulator ever issued
        raise ge.item_not_found()
    raw, key = parsed
    copy = ctx.tenant.copies.get(raw)
    if copy is None or copy.mailbox != mbx.email.lower():
        raise ge.item_not_found()
    return copy, key


def get_event(ctx, user: str, event: str):
    mbx = ctx.mailbox(user)
    ctx.sim.stats["event_reads"] += 1
    tz, tz_applied = timezone_pref(ctx.prefer())
    with ctx.world.lock:
        copy, key = find(ctx, mbx, event)
        if key is None:
            body = render_master(copy, tz)
        else:
            day = datetime.fromisoformat(key).replace(tzinfo=UTC)
            found = [i for i in instances(copy, day - timedelta(days=400), day + timedelta(days=400)) if i.key == key]
            if not found:
                raise ge.item_not_found()
            body = render_instance(found[0], tz)
    body = {"@odata.context": ctx.url(f"/$metadata#users('{user}')/events/$entity"), **body}
    return ge.json_response(_select([body], ctx.request.args.get("$select"))[0], headers=_headers(ctx, tz_applied, tz))


def _page(ctx, items: list[dict], path: str, extra_args: dict, context: str, tz, tz_applied) -> object:
    args = ctx.request.args
    prefer = ctx.prefer()
    applied = []
    size = ctx.world.settings.page_size_events
    if "odata.maxpagesize" in prefer and prefer["odata.maxpagesize"].isdigit():
        size = max(1, int(prefer["odata.maxpagesize"]))
        applied.append(f"odata.maxpagesize={size}")
    if args.get("$top", "").isdigit():
        size = max(1, min(1000, int(args["$top"])))
    skip = int(args["$skip"]) if args.get("$skip", "").isdigit() else 0
    chunk = _select(items[skip : skip + size], args.get("$select"))
    body: dict = {"@odata.context": ctx.url(context), "value": chunk}
    if skip + size < len(items):
        query = {**extra_args, "$top": size, "$skip": skip + size}
        if args.get("$select"):
            query["$select"] = args["$select"]
        body["@odata.nextLink"] = ctx.url(f"{path}?{urlencode(query)}")
    return ge.json_response(body, headers=_headers(ctx, tz_applied, tz, applied))


def calendar_view(ctx, user: str):
    mbx = ctx.mailbox(user)
    start, end = parse_window(ctx.request.args, ctx.world.settings.calendar_view_max_days)
    tz, tz_applied = timezone_pref(ctx.prefer())
    with ctx.world.lock:
        found = [i for c in list(ctx.tenant.by_mailbox.get(mbx.email.lower(), [])) for i in instances(c, start, end)]
        found.sort(key=lambda i: (i.start, i.id))
        items = [render_instance(i, tz) for i in found]
    extra = {
        "startDateTime": ctx.request.args.get("startDateTime") or ctx.request.args.get("startdatetime"),
        "endDateTime": ctx.request.args.get("endDateTime") or ctx.request.args.get("enddatetime"),
    }
    return _page(
        ctx, items, f"/users/{user}/calendarView", extra, f"/$metadata#users('{user}')/calendarView", tz, tz_applied
    )


def list_events(ctx, user: str):
    """Single instances and series masters, never expanded occurrences (event.md methods table)."""
    mbx = ctx.mailbox(user)
    tz, tz_applied = timezone_pref(ctx.prefer())
    with ctx.world.lock:
        copies = sorted(ctx.tenant.by_mailbox.get(mbx.email.lower(), []), key=lambda c: (c.meeting.start, c.id))
        items = [render_master(c, tz) for c in copies]
    return _page(ctx, items, f"/users/{user}/events", {}, f"/$metadata#users('{user}')/events", tz, tz_applied)
