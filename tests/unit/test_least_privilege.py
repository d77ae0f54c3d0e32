"""RoomCal asks Entra for directory reads only, never for a tenant-wide Calendars permission."""

import json
from pathlib import Path

from shared.onboarding.consent import tenant_wide_calendar_roles

MANIFEST = Path(__file__).resolve().parents[2] / "infra" / "entra" / "roomcal-app-permissions.json"
CALENDAR_ROLE_IDS = {"798ee544-9d2d-430c-a058-570e29e34338",  # Calendars.Read
                     "ef54d2bf-783f-4e0f-bca1-3210c0444d99"}  # Calendars.ReadWrite
ALLOWED = {"913b9306-0ce1-42b8-9137-6a7df690a760",  # Place.Read.All
           "df021288-bdef-4463-88db-98f22de89214"}  # User.Read.All (object ids; infra/entra/PERMISSIONS.md)


def test_app_registration_requests_no_calendar_permission():
    manifest = json.loads(MANIFEST.read_text())
    ids = {a["id"] for r in manifest["requiredResourceAccess"] for a in r["resourceAccess"]}
    assert ids <= ALLOWED and not ids & CALENDAR_ROLE_IDS


def test_calendar_roles_in_a_token_are_recognised():
    assert tenant_wide_calendar_roles(["Place.Read.All", "Calendars.ReadWrite", "Calendars.Read"]) == [
        "Calendars.Read", "Calendars.ReadWrite"]
    assert tenant_wide_calendar_roles(["Place.Read.All", "User.Read.All"]) == []
