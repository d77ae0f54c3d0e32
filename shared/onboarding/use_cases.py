"""Onboarding use cases the HTTP layer calls, each acting for the tenant named in the request."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigurationError, InvalidInput
from shared.onboarding import offboarding, rbac_script, rooms, synchronize, tenants, verification
from shared.onboarding.consent import CallbackParams, ConsentService
from shared.onboarding.consent_outcome import ConsentOutcome


class StartOnboarding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str | None = Field(default=None, max_length=253,
                               description="tenant id or domain to pre-select at Microsoft; omit for any")


def _tokens(services):
    if services.tokens is None:
        raise ConfigurationError("RoomCal cannot obtain Microsoft tokens: no app credentials are configured",
                                 fix="set ROOMCAL_CLIENT_ID and ROOMCAL_CLIENT_SECRET (or a certificate)")
    return services.tokens


def consent_service(services) -> ConsentService:
    settings = services.settings
    return ConsentService(tables=services.tables, clock=services.clock, tokens=_tokens(services),
                          client_id=settings.client_id, login_base_url=settings.login_base_url,
                          public_base_url=settings.public_base_url, graph_scope=settings.graph_scope,
                          ttl=timedelta(minutes=settings.consent_state_minutes))


def start(services, body: StartOnboarding, *, actor: str) -> dict:
    return consent_service(services).start(tenant_hint=body.tenant, created_by=actor)


def finish_consent(services, params: CallbackParams) -> ConsentOutcome:
    return consent_service(services).handle_callback(params)


def rbac_script_for(services, tenant_id: str, request: rbac_script.RbacScriptRequest) -> tuple[str, str]:
    """(file name, script text) for a consented tenant."""
    tenant = tenants.load_connected(services.tables, tenant_id)
    text = rbac_script.build_rbac_script(request, app_id=services.settings.client_id, tenant_id=tenant.id,
                                         release_enabled=tenants.noshow_release_enabled(tenant))
    return f"Grant-RoomCalAccess-{tenant.id}.ps1", text


def register_rooms(services, tenant_id: str, payload, *, csv_text: str | None = None, actor: str) -> dict:
    rows = None
    if csv_text is None:
        if isinstance(payload, dict) and "rooms" in payload:
            payload = payload["rooms"]
        elif isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list):
            raise InvalidInput("send a room object, a list of rooms, or {\"rooms\": [...]}",
                               fix='e.g. {"rooms": [{"email": "room1@contoso.com", "capacity": 8}]}')
        rows = payload
    result = rooms.register(services.tables, services.clock, tenant_id, rows=rows, csv_text=csv_text, actor=actor)
    tid = tenants.check_tenant_id(tenant_id)
    verification.add_rooms(services.tables, services.queues, services.clock, tid, result["added"])
    return result


def import_rooms(services, tenant_id: str, *, actor: str) -> dict:
    result = rooms.import_from_places(services.tables, services.clock, services.require_graph(), tenant_id,
                                      actor=actor)
    tid = tenants.check_tenant_id(tenant_id)
    verification.add_rooms(services.tables, services.queues, services.clock, tid, result["added"])
    return result


def verify(services, tenant_id: str, *, actor: str) -> dict:
    return verification.start(services.tables, services.queues, services.clock, _tokens(services),
                              services.require_graph(), tenant_id, actor=actor)


def verify_room_message(services, message: dict) -> dict | None:
    return verification.verify_room(services.tables, services.queues, services.clock, services.require_graph(),
                                    message)


def synchronise(services, tenant_id: str, *, actor: str) -> dict:
    return synchronize.start_sync(services.tables, services.queues, services.clock, tenant_id, actor=actor)


def offboard(services, tenant_id: str, *, actor: str) -> dict:
    return offboarding.start(services.tables, services.queues, services.clock, tenant_id, actor=actor)


def offboarding_step(services, message: object) -> str:
    # The sweep waits out a sync lease, so a round that was writing when the tenant was marked is done.
    outcome = offboarding.run_step(services.tables, services.queues, services.clock, services.graph, message,
                                   sweep_delay_seconds=int(services.settings.sync_lease_seconds) + 60)
    if outcome == "offboarded" and getattr(services, "aggregates", None) is not None:
        services.aggregates.delete_tenant(offboarding.OffboardingStep.model_validate(message).tenant)
    return outcome


def tenant_overview(services, tenant_id: str) -> dict:
    tenant = tenants.load(services.tables, tenant_id)
    listing = rooms.listing(services.tables, tenant.id)
    return {"tenant_id": tenant.id, "status": tenant.status, "reason": tenant.reason,
            "consented_at": tenant.consented_at, "room_counts": listing["counts"],
            "settings": tenant.settings.model_dump(mode="json")}
