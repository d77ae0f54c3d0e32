"""``GET /users/{id}/calendarView/delta`` (event-delta.md, delta-query-events.md).

* The first request carries ``startDateTime``/``endDateTime``; later ones only the opaque token.
* ``Prefer: odata.maxpagesize=N`` caps a page (``Preference-Applied`` answers it).
* Occurrences, exceptions and single instances are returned, never the series master ("by design", docs-contrib
  issue 7968). Observed on real Graph (docs-contrib issues 5602 and 34): an item of type ``occurrence`` is a
  stub of ``@odata.type``, ``@odata.etag``, ``id``, ``type``, ``seriesMasterId``, ``start`` and ``end`` only;
  clients read the rest from the master (``GET /users/{id}/events/{seriesMasterId}``). Exceptions and single
  instances come in full.
* Windows longer than ``settings.calendar_view_max_days`` (1,825) are refused like calendarView's
  (events.parse_window; docs-contrib issue 6321).
* A later round returns what changed since the token: new or changed instances (occurrences as stubs);
  instances that left the window, were deleted or removed as ``{"id", "@removed": {"reason": "deleted"}}``;
  and, as the docs say, ``@removed`` for events outside the window that were added, updated or deleted.
* ``$select``/``$expand``/``$filter``/``$orderby``/``$search`` are not supported: 400 (the docs say "not
  supported" without an error; the stricter reading is to reject rather than ignore).
* An expired or unknown token answers per ``settings.delta_expired_mode``: ``gone`` → 410 with ``Location`` (the
  initial query's URL with an empty ``$deltatoken``), or ``syncStateNotFound`` → ``settings.delta_expired_status``
  (the docs: "40X-series").
"""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.routing import Rule

from . import graph_errors as ge
from .calendar import instances
from .deltastore import Round, SyncState
from .events import parse_window, timezone_pref
from .eventshape import render_instance

UNSUPPORTED = ("$select", "$expand", "$filter", "$orderby", "$search")
STUB_FIELDS = ("@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end")


def render_delta_item(inst, tz: str | None) -> dict:
    """An instance as calendarView delta reports it: occurrences as stubs (docs-contrib issues 5602, 34)."""
    full = {"@odata.type": "#microsoft.graph.event", **render_instance(inst, tz)}
    if inst.type == "occurrence":
        return {k: full[k] for k in STUB_FIELDS}
    return full


def rules() -> list[Rule]:
    return [
        Rule("/v1.0/users/<user>/calendarView/delta", endpoint=get_delta, methods=["GET"]),
        Rule("/v1.0/users/<user>/calendarview/delta", endpoint=get_delta, methods=["GET"]),
    ]


def _expired(ctx, user: str, state: SyncState | None) -> ge.GraphError:
    s = ctx.world.settings
    ctx.sim.faults.count("delta_token_rejected")
    if s.delta_expired_mode == "gone":
        # delta-query-overview.md: "a Location header containing a request URL with an empty $deltatoken (same as
        # the initial query)"; the window comes from the expired token, as the initial query carried it
        query = {"startDateTime": _iso(state.start), "endDateTime": _iso(state.end)} if state else {}
        query["$deltatoken"] = ""
        location = ctx.url(f"/users/{user}/calendarView/delta") + "?" + urlencode(query, safe="$")
        return ge.GraphError(
            410,
            "resyncRequired",
            "The delta token is no longer valid; restart with a full sync.",
            {"Location": location},
        )
    return ge.GraphError(
        s.delta_expired_status,
        "syncStateNotFound",
        "The sync state generation is not found. The delta token has expired; resync.",
    )


def _iso(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _current(ctx, mbx_email: str, state: SyncState) -> dict:
    tenant = ctx.tenant
    out = {}
    for copy in list(tenant.by_mailbox.get(mbx_email, [])):
        for inst in instances(copy, state.start, state.end):
            out[inst.id] = inst
    return out


def _build_round(ctx, mbx, window: SyncState, tz: str | None, initial: bool = False) -> Round:
    with ctx.world.lock:
        current = _current(ctx, mbx.email.lower(), window)
        log_stamp = ctx.world.changes.last_stamp
        items: list[dict] = []
        for ident, inst in sorted(current.items(), key=lambda kv: (kv[1].start, kv[0])):
            if window.snapshot.get(ident) != inst.stamp:
                items.append(render_delta_item(inst, tz))
        removed = [i for i in window.snapshot if i not in current]
        if not initial:
            seen = set(current) | set(window.snapshot)
            for rec in ctx.world.changes.since(window.log_stamp):
                if rec.tenant_id == window.tenant_id and rec.mailbox == window.mailbox and rec.event_id not in seen:
                    removed.append(rec.event_id)
                    seen.add(rec.event_id)
        ctx.sim.stats["delta_occurrence_stubs"] += sum(1 for i in items if set(i) == set(STUB_FIELDS))
        items += [
            {"@odata.type": "#microsoft.graph.event", "id": i, "@removed": {"reason": "deleted"}} for i in removed
        ]
        nxt = SyncState(
            window.tenant_id,
            window.mailbox,
            window.start,
            window.end,
            {i: inst.stamp for i, inst in current.items()},
            log_stamp,
        )
    return Round(state=nxt, items=items, tz=tz)


def get_delta(ctx, user: str):
    args = ctx.request.args
    bad = [k for k in args if k.lower() in UNSUPPORTED]
    if bad:
        raise ge.bad_request(
            f"The query parameter '{bad[0]}' is not supported with change tracking over the 'calendarView' resource.",
            "ErrorInvalidUrlQuery",
        )
    mbx = ctx.mailbox(user)
    prefer = ctx.prefer()
    tz, tz_applied = timezone_pref(prefer)
    store = ctx.sim.deltas
    skip, dtok = args.get("$skiptoken"), args.get("$deltatoken")
    if skip:
        rnd = store.get(skip)
        if not isinstance(rnd, Round) or rnd.state.mailbox != mbx.email.lower():
            raise _expired(ctx, user, store.window_of(skip))
    elif dtok:
        state = store.get(dtok)
        if not isinstance(state, SyncState) or state.mailbox != mbx.email.lower():
            raise _expired(ctx, user, store.window_of(dtok))
        rnd = _build_round(ctx, mbx, state, tz)
    else:
        start, end = parse_window(args, ctx.world.settings.calendar_view_max_days)
        rnd = _build_round(ctx, mbx, SyncState(ctx.tenant.id, mbx.email.lower(), start, end, {}, 0), tz, True)
    # a page size asked for on the first request sticks to the round's skip tokens (clients need not resend it)
    page = rnd.extra.get("page", ctx.world.settings.page_size_delta)
    headers = {}
    applied = []
    if "odata.maxpagesize" in prefer:
        try:
            page = max(1, int(prefer["odata.maxpagesize"]))
            applied.append(f"odata.maxpagesize={page}")
        except ValueError:
            pass
    if tz_applied:
        applied.append(f'outlook.timezone="{tz}"')
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    chunk = rnd.items[rnd.offset : rnd.offset + page]
    body = {"@odata.context": ctx.url("/$metadata#Collection(event)")}
    if rnd.offset + page < len(rnd.items):
        nxt = Round(rnd.state, rnd.items, rnd.offset + page, rnd.tz, {"page": page})
        body["@odata.nextLink"] = ctx.url(f"/users/{user}/calendarView/delta?$skiptoken={store.put_round(nxt)}")
    else:
        body["@odata.deltaLink"] = ctx.url(f"/users/{user}/calendarView/delta?$deltatoken={store.put_state(rnd.state)}")
    body["value"] = chunk
    return ge.json_response(body, headers=headers)
