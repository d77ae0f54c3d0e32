"""RoomCal's Azure Functions entry point: one FunctionApp, blueprints registered, no I/O."""

import azure.functions as func

from functions import health, onboarding, rooms, selftest

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (health.bp, selftest.bp, onboarding.bp, rooms.bp):
    app.register_functions(blueprint)
