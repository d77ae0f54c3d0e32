"""RoomCal's Azure Functions entry point: one FunctionApp, blueprints registered, no I/O."""

import azure.functions as func

from functions import analytics as analytics_functions
from functions import (
    auth,
    health,
    occupancy,
    onboarding,
    portal,
    privacy,
    rooms,
    selftest,
    status,
    sync_queue,
    timers,
    webhooks,
)
from shared import telemetry

telemetry.configure_from_environment()  # OpenTelemetry only with APPLICATIONINSIGHTS_CONNECTION_STRING; no I/O

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (health.bp, selftest.bp, onboarding.bp, rooms.bp, webhooks.bp, sync_queue.bp, timers.bp, status.bp,
                  privacy.bp, occupancy.bp):
    app.register_functions(blueprint)
app.register_functions(analytics_functions.bp)
app.register_functions(auth.bp)
app.register_functions(portal.bp)
