"""``POST /$batch`` (concepts/json-batching.md).

* At most 20 requests; unique ids (case-insensitive); relative urls; ``headers`` with ``Content-Type`` when a
  ``body`` is present. Otherwise the whole batch is 400.
* The outer answer is 200 even when inner requests fail. Each inner request goes through the same pipeline
  (token, faults, throttling, RBAC) as a direct call, so a throttled one answers 429 with ``Retry-After``.
* ``dependsOn``: a request whose dependency failed (status >= 400) answers 424 Failed Dependency.
* Requests run one at a time in dependency order (Graph runs at most 4 in parallel against Outlook; running them
  sequentially is within that and keeps answers deterministic).
"""

from __future__ import annotations

import json

from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from . import graph_errors as ge

MAX_REQUESTS = 20


def rules() -> list[Rule]:
    return [Rule("/v1.0/$batch", endpoint=post_batch, methods=["POST"])]


def _validate(payload) -> list[dict]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise ge.bad_request("Invalid batch payload format.")
    reqs = payload["requests"]
    if not reqs:
        raise ge.bad_request("Invalid batch payload format: 'requests' is empty.")
    if len(reqs) > MAX_REQUESTS:
        raise ge.bad_request(f"The number of batch requests ({len(reqs)}) exceeds the limit of {MAX_REQUESTS}.")
    ids = set()
    for r in reqs:
        if not isinstance(r, dict) or not r.get("id") or not r.get("method") or not r.get("url"):
            raise ge.bad_request("Each batch request must have an 'id', a 'method' and a 'url'.")
        rid = str(r["id"]).lower()
        if rid in ids:
            raise ge.bad_request(f"Batch request ids must be unique; '{r['id']}' is used more than once.")
        ids.add(rid)
        if str(r["url"]).lower().startswith(("http://", "https://")):
            raise ge.bad_request("Batch request urls must be relative, such as '/users/{id}/events'.")
        if "body" in r and not any(k.lower() == "content-type" for k in (r.get("headers") or {})):
            raise ge.bad_request("A batch request with a body must have a Content-Type header.")
    for r in reqs:
        deps = r.get("dependsOn") or []
        if not isinstance(deps, list) or any(str(d).lower() not in ids for d in deps):
            raise ge.bad_request(f"Request '{r['id']}' depends on an id that is not in the batch.")
    return reqs


def _order(reqs: list[dict]) -> list[dict]:
    done, out, by_id = set(), [], {str(r["id"]).lower(): r for r in reqs}
    pending = list(reqs)
    while pending:
        progressed = False
        for r in list(pending):
            if all(str(d).lower() in done for d in r.get("dependsOn") or []):
                out.append(r)
                done.add(str(r["id"]).lower())
                pending.remove(r)
                progressed = True
        if not progressed:
            raise ge.bad_request("The dependsOn graph of the batch has a cycle.")
    assert len(out) == len(by_id)
    return out


def post_batch(ctx):
    try:
        payload = json.loads(ctx.request.get_data() or b"null")
    except ValueError as exc:
        raise ge.bad_request("Unable to read JSON request payload.", "UnableToReadJson") from exc
    reqs = _order(_validate(payload))
    status: dict[str, int] = {}
    responses = []
    for r in reqs:
        rid = str(r["id"])
        failed = [d for d in r.get("dependsOn") or [] if status.get(str(d).lower(), 0) >= 400]
        if failed:
            body = ge.graph_error_body("FailedDependency", f"Dependent request '{failed[0]}' failed.")
            responses.append({"id": rid, "status": 424, "headers": {"Content-Type": "application/json"}, "body": body})
            status[rid.lower()] = 424
            ctx.sim.faults.count("batch_failed_dependency")
            continue
        url = str(r["url"])
        url = url if url.startswith("/") else "/" + url
        headers = {k: v for k, v in (r.get("headers") or {}).items()}
        headers["Authorization"] = ctx.request.headers.get("Authorization", "")
        data = json.dumps(r["body"]).encode() if "body" in r else None
        builder = EnvironBuilder(
            path="/v1.0" + url.split("?", 1)[0],
            query_string=url.split("?", 1)[1] if "?" in url else None,
            method=str(r["method"]).upper(),
            headers=headers,
            data=data,
            base_url=ctx.sim.base_url,
        )
        try:
            inner = ctx.sim.handle(Request(builder.get_environ()))
        finally:
            builder.close()
        raw = inner.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        out_headers = {
            k: v
            for k, v in inner.headers.items()
            if k.lower() in ("content-type", "retry-after", "location", "preference-applied")
        }
        entry = {"id": rid, "status": inner.status_code, "headers": out_headers}
        if body is not None:
            entry["body"] = body
        responses.append(entry)
        status[rid.lower()] = inner.status_code
    return ge.json_response({"responses": responses})
