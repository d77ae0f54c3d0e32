"""Onboarding use cases the HTTP layer calls: start consent, finish it, hand out the RBAC script."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigurationError
from shared.services import rbac_script, tenants
from shared.services.consent import CallbackParams, ConsentService
from shared.services.consent_outcome import ConsentOutcome


class StartOnboarding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str | None = Field(default=None, max_length=253,
                               description="tenant id or domain to pre-select at Microsoft; omit for any")


def consent_service(services) -> ConsentService:
    tokens = getattr(services, "tokens", None)
    if tokens is None:
        raise ConfigurationError("RoomCal cannot obtain Microsoft tokens: no token provider is configured",
                                 fix="set ROOMCAL_CLIENT_ID and ROOMCAL_CLIENT_SECRET (or a certificate)")
    settings = services.settings
    return ConsentService(tables=services.tables, clock=services.clock, tokens=tokens,
                          client_id=settings.client_id, login_base_url=settings.login_base_url,
                          public_base_url=settings.public_base_url,
                          ttl=timedelta(minutes=getattr(settings, "consent_state_minutes", 30)))


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
