"""Onboarding use cases the HTTP layer calls, each acting for the tenant named in the request."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import AccessDenied, ConfigurationError, Conflict, InvalidInput, NotFound
from shared.models import TenantStatus
from shared.onboarding import offboarding, rbac_script, rooms, synchronize, tenants, verification
from shared.onboarding.consent import CallbackParams, ConsentService, normalise_tenant_hint
from shared.onboarding.consent_outcome import ConsentOutcome


class StartOnboarding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str | None = Field(default=None, max_length=253,
                               description="tenant id or domain to pre-select at Microsoft; omit for any. "
                                           "A signed-in admin always onboards the tenant of their sign-in")
    reonboard: bool = Field(default=False, description="connect an offboarded tenant again (explicit)")


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


def start(services, body: StartOnboarding, *, actor: str, principal=None) -> dict:
    """Consent links. For a signed-in admin the tenant is their token's ``tid``, so the consent (and the
    request-consent link) can only complete for that tenant; an offboarded tenant needs ``reonboard``."""
    hint = body.tenant
    if principal is not None and not principal.is_operator:
        if hint and normalise_tenant_hint(hint) != principal.tenant_id:
            raise InvalidInput("you can only add the organisation you signed in with",
                               fix="leave 'tenant' out, or sign in with an account of the other organisation")
        hint = principal.tenant_id
    existing = _existing(services, hint)
    if existing is not None:
        if str(existing.status) == "offboarding":
            raise Conflict(f"tenant {existing.id} is being offboarded", fix="wait until offboarding has finished")
        if existing.status == TenantStatus.offboarded and not body.reonboard:
            raise Conflict(f"tenant {existing.id} was offboarded from RoomCal",
                           fix="re-onboarding is explicit: send {\"reonboard\": true} (the page's 'Connect again')")
        if existing.status in (TenantStatus.consented, TenantStatus.active) and principal is not None \
                and not principal.can_change:
            raise AccessDenied("this organisation is already connected; changing it needs the RoomCal.Admin app role",
                               fix="ask an Entra admin to assign you RoomCal.Admin, then sign in again")
    return consent_service(services).start(tenant_hint=hint, created_by=actor,
                                           reonboard=bool(body.reonboard))


def _existing(services, hint: str | None):
    if not hint or "." in hint:
        return None
    try:
        return tenants.load(services.tables, hint)
    except NotFound:
        return None


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
