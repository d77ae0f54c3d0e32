"""A small Python client for the control API, used by tests and the demo.

ctl = ControlClient(sim.base_url, sim.ca_path)
t = ctl.create_tenant(consented=True)
ctl.add_room(t["id"], "room1@contoso.com", capacity=8)
m = ctl.create_meeting(t["id"], organizer="ann@contoso.com", rooms=["room1@contoso.com"], start=..., end=...)
"""

from __future__ import annotations

from typing import Any

import requests


def trusted_session(ca_path: str) -> requests.Session:
    """A Session that trusts only the emulator's CA. ``trust_env = False`` because REQUESTS_CA_BUNDLE and
    CURL_CA_BUNDLE (set machine-wide here) would otherwise override ``verify``."""
    s = requests.Session()
    s.trust_env = False
    s.verify = ca_path
    return s


class ControlError(RuntimeError):
    def __init__(self, status: int, body: Any):
        super().__init__(f"control API answered {status}: {body}")
        self.status, self.body = status, body


class ControlClient:
    def __init__(self, base_url: str, ca_path: str, session: requests.Session | None = None) -> None:
        self.base = base_url.rstrip("/") + "/_control"
        self.http = session or trusted_session(ca_path)

    def _call(self, method: str, path: str, json: Any = None, params: dict | None = None) -> Any:
        r = self.http.request(method, self.base + path, json=json, params=params, timeout=60)
        body = r.json() if r.content else None
        if r.status_code >= 400:
            raise ControlError(r.status_code, body)
        return body

    # --- system -----------------------------------------------------------------------------------------------
    def health(self) -> dict:
        return self._call("GET", "/health")

    def reset(self, seed: int | None = None, generate_rooms: int = 0, default_tenant: bool = True) -> dict:
        return self._call(
            "POST", "/reset", {"seed": seed, "generate_rooms": generate_rooms, "default_tenant": default_tenant}
        )

    def settings(self, **changes: Any) -> dict:
        return self._call("PATCH", "/settings", changes) if changes else self._call("GET", "/settings")

    def app(self, **changes: Any) -> dict:
        return self._call("PATCH", "/app", changes) if changes else self._call("GET", "/app")

    def add_managed_identity(self, **fields: Any) -> dict:
        """A user-assigned identity; the answer has ``identity``, ``identity_endpoint``, ``identity_header``."""
        return self._call("POST", "/managed-identities", fields)

    def managed_identities(self) -> dict:
        return self._call("GET", "/managed-identities")

    def advance_clock(self, seconds: float) -> dict:
        return self._call("POST", "/clock", {"advance_s": seconds})

    def reset_clock(self) -> dict:
        return self._call("POST", "/clock", {"reset": True})

    def faults(self) -> dict:
        return self._call("GET", "/faults")

    def inject_5xx(
        self, count: int = 1, status: int = 503, retry_after: int | None = None, mailbox: str | None = None
    ) -> dict:
        return self._call(
            "POST",
            "/faults",
            {"kind": "graph_5xx", "count": count, "status": status, "retry_after": retry_after, "mailbox": mailbox},
        )

    def fail_token_endpoint(self, count: int = 1, status: int = 503) -> dict:
        return self._call("POST", "/faults", {"kind": "token_failure", "count": count, "status": status})

    def expire_delta_tokens(self, mode: str | None = None, status: int | None = None) -> dict:
        return self._call("POST", "/faults", {"kind": "expire_delta_tokens", "mode": mode, "status": status})

    def clear_faults(self) -> dict:
        return self._call("DELETE", "/faults")

    def stats(self) -> dict:
        return self._call("GET", "/stats")

    def changes(self, since: int = 0) -> list[dict]:
        return self._call("GET", "/changes", params={"since": since})

    def generate(self, seed: int = 1, rooms: int = 20, **kw: Any) -> dict:
        return self._call("POST", "/generate", {"seed": seed, "rooms": rooms, **kw})

    # --- directory ---------------------------------------------------------------------------------------------
    def tenants(self) -> list[dict]:
        return self._call("GET", "/tenants")

    def tenant(self, tid: str) -> dict:
        return self._call("GET", f"/tenants/{tid}")

    def create_tenant(
        self,
        domain: str | None = None,
        name: str | None = None,
        consented: bool = False,
        grants: list[str] | None = None,
        tenant_id: str | None = None,
    ) -> dict:
        body: dict = {"domain": domain, "name": name, "consented": consented, "id": tenant_id}
        if grants is not None:
            body["grants"] = grants
        return self._call("POST", "/tenants", {k: v for k, v in body.items() if v is not None})

    def add_user(self, tid: str, upn: str, **kw: Any) -> dict:
        return self._call("POST", f"/tenants/{tid}/users", {"upn": upn, **kw})

    def add_room(self, tid: str, email: str, **kw: Any) -> dict:
        return self._call("POST", f"/tenants/{tid}/rooms", {"email": email, **kw})

    def update_place(self, tid: str, email: str, **kw: Any) -> dict:
        """``list_after_s`` (0: list it in /places now) or ``hidden``."""
        return self._call("PATCH", f"/tenants/{tid}/places/{email}", kw)

    def add_mailbox(self, tid: str, email: str, **kw: Any) -> dict:
        return self._call("POST", f"/tenants/{tid}/mailboxes", {"email": email, **kw})

    def update_mailbox(self, tid: str, email: str, **kw: Any) -> dict:
        return self._call("PATCH", f"/tenants/{tid}/mailboxes/{email}", kw)

    def add_room_list(self, tid: str, email: str, rooms: list[str], **kw: Any) -> dict:
        return self._call("POST", f"/tenants/{tid}/room-lists", {"email": email, "rooms": rooms, **kw})

    def add_group(self, tid: str, email: str, members: list[str], **kw: Any) -> dict:
        return self._call("POST", f"/tenants/{tid}/groups", {"email": email, "members": members, **kw})

    def group_members(self, tid: str, email: str, add: list[str] = (), remove: list[str] = ()) -> dict:
        return self._call("POST", f"/tenants/{tid}/groups/{email}/members", {"add": list(add), "remove": list(remove)})

    def add_scope(
        self,
        tid: str,
        name: str,
        member_of_group: str | None = None,
        country: str | None = None,
        recipient_type: str | None = None,
    ) -> dict:
        return self._call(
            "POST",
            f"/tenants/{tid}/scopes",
            {"name": name, "member_of_group": member_of_group, "country": country, "recipient_type": recipient_type},
        )

    def assign_role(self, tid: str, role: str, scope: str | None = None, app_id: str | None = None) -> dict:
        body = {"role": role, "scope": scope}
        if app_id:
            body["app_id"] = app_id
        return self._call("POST", f"/tenants/{tid}/role-assignments", body)

    def remove_role(self, tid: str, assignment_id: str) -> dict:
        return self._call("DELETE", f"/tenants/{tid}/role-assignments/{assignment_id}")

    def rbac_test(self, tid: str, mailbox: str) -> list[dict]:
        return self._call("GET", f"/tenants/{tid}/rbac-test", params={"mailbox": mailbox})

    def set_grants(self, tid: str, roles: list[str]) -> dict:
        return self._call("PUT", f"/tenants/{tid}/grants", {"roles": roles})

    def set_consent(self, tid: str, consented: bool) -> dict:
        return self._call("PUT", f"/tenants/{tid}/consent", {"consented": consented})

    def auto_consent(self, tid: str, mode: str | None, user: str | None = None) -> dict:
        return self._call("PUT", f"/tenants/{tid}/auto-consent", {"mode": mode, "user": user} if mode else {})

    def auto_signin(self, tid: str, user: str | None) -> dict:
        return self._call("PUT", f"/tenants/{tid}/auto-signin", {"user": user})

    def rotate_signing_key(self, keep_previous: bool = True) -> dict:
        return self._call("POST", "/signing-keys/rotate", {"keep_previous": keep_previous})

    def id_token(self, tid: str, user: str, nonce: str | None = None) -> str:
        return self._call("POST", f"/tenants/{tid}/id-token", {"user": user, "nonce": nonce})["id_token"]

    # --- calendars and sensors --------------------------------------------------------------------------------------
    def create_meeting(
        self, tid: str, organizer: str | dict, rooms: list[str], start: str, end: str, **kw: Any
    ) -> dict:
        org = organizer if isinstance(organizer, dict) else {"email": organizer}
        return self._call(
            "POST", f"/tenants/{tid}/meetings", {"organizer": org, "rooms": rooms, "start": start, "end": end, **kw}
        )

    def meeting(self, tid: str, mid: str) -> dict:
        return self._call("GET", f"/tenants/{tid}/meetings/{mid}")

    def update_meeting(self, tid: str, mid: str, **kw: Any) -> dict:
        """Move / extend (start, end), change rooms or details; ``occurrence="YYYY-MM-DD"`` for one occurrence."""
        return self._call("PATCH", f"/tenants/{tid}/meetings/{mid}", kw)

    def cancel_meeting(self, tid: str, mid: str, occurrence: str | None = None, remove: bool = False) -> dict:
        return self._call("POST", f"/tenants/{tid}/meetings/{mid}/cancel", {"occurrence": occurrence, "remove": remove})

    def delete_meeting(self, tid: str, mid: str, occurrence: str | None = None) -> dict:
        return self._call(
            "DELETE", f"/tenants/{tid}/meetings/{mid}", params={"occurrence": occurrence} if occurrence else None
        )

    def set_occupancy(self, tid: str, room: str, intervals: list[dict], append: bool = False) -> dict:
        return self._call(
            "POST" if append else "PUT", f"/tenants/{tid}/rooms/{room}/occupancy", {"intervals": intervals}
        )

    def set_sensor(self, tid: str, room: str, sensor_id: str | None, outages: list[dict] = ()) -> dict | None:
        """Give a room a sensor (silent during ``outages``), or take it away with ``sensor_id=None``."""
        if sensor_id is None:
            return self._call("DELETE", f"/tenants/{tid}/rooms/{room}/sensor")
        return self._call("PUT", f"/tenants/{tid}/rooms/{room}/sensor", {"id": sensor_id, "outages": list(outages)})

    def truth(self, tid: str, start: str | None = None, end: str | None = None, room: str | None = None) -> dict:
        """Ground truth over [start, end); ``room`` limits it to that room (faster for big offices)."""
        params = {k: v for k, v in (("start", start), ("end", end), ("room", room)) if v}
        return self._call("GET", f"/tenants/{tid}/truth", params=params)

    # --- change notifications ------------------------------------------------------------------------------------
    def subscriptions(self) -> list[dict]:
        """Every subscription of every app, with its internal state (mailbox, token expiry, missed, delivered)."""
        return self._call("GET", "/notifications/subscriptions")

    def lifecycle_event(self, subscription_id: str, event: str) -> dict:
        """reauthorizationRequired, missed or subscriptionRemoved (which also deletes the subscription)."""
        return self._call("POST", f"/notifications/subscriptions/{subscription_id}/lifecycle", {"event": event})

    def notification_faults(self) -> dict:
        return self._call("GET", "/notifications/faults")

    def inject_notification_fault(
        self, kind: str, count: int | None = None, share: float | None = None, **kw: Any
    ) -> dict:
        """Plans: drop (missed?), duplicate, delay (delay_s), reorder (count >= 2), wrong_client_state; each with
        ``count`` or ``share`` and an optional ``subscription_id``."""
        body = {"kind": kind, **kw}
        if count is not None:
            body["count"] = count
        if share is not None:
            body["share"] = share
        return self._call("POST", "/notifications/faults", body)

    def remove_subscription(self, subscription_id: str) -> dict:
        return self._call(
            "POST", "/notifications/faults", {"kind": "remove_subscription", "subscription_id": subscription_id}
        )

    def unknown_subscription_notifications(
        self, subscription_id: str | None = None, url: str | None = None, count: int = 1
    ) -> dict:
        body = {"kind": "unknown_subscription", "subscription_id": subscription_id, "url": url, "count": count}
        return self._call("POST", "/notifications/faults", {k: v for k, v in body.items() if v is not None})

    def set_endpoint_mode(self, url: str, mode: str, duration_s: float | None = None) -> dict:
        """Force an endpoint to ``delayed``, ``dropped`` or back to ``normal`` (emulated seconds)."""
        return self._call(
            "POST",
            "/notifications/faults",
            {"kind": "endpoint_mode", "url": url, "mode": mode, "duration_s": duration_s},
        )

    def clear_notification_faults(self) -> dict:
        return self._call("DELETE", "/notifications/faults")

    def endpoint_health(self) -> list[dict]:
        return self._call("GET", "/notifications/endpoints")

    def notification_log(self, since: int = 0, limit: int = 1000) -> list[dict]:
        return self._call("GET", "/notifications/log", params={"since": since, "limit": limit})

    def notification_stats(self) -> dict:
        return self._call("GET", "/notifications/stats")

    def flush_notifications(self, timeout_s: float = 10, now: bool = False) -> dict:
        """Wait until no notification is queued or in flight; ``now`` sends delayed/backed-off ones at once."""
        r = self.http.post(
            self.base + "/notifications/flush", json={"timeout_s": timeout_s, "now": now}, timeout=timeout_s + 30
        )
        return r.json()

    def reset_notifications(self) -> dict:
        return self._call("DELETE", "/notifications")
