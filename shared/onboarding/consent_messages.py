"""What a person sees when Microsoft's admin-consent redirect carries an error.

Only Microsoft's error *code* (and an AADSTS number) is ever shown: error_description is
free text anyone can put in a URL, so it is never echoed.
"""

from __future__ import annotations

import re

from shared.onboarding.consent_outcome import ConsentOutcome

_AADSTS = re.compile(r"AADSTS\d{4,6}")
_NOT_ADMIN_CODES = {"AADSTS90094", "AADSTS90093", "AADSTS65001", "AADSTS90099"}
_DECLINED_CODES = {"AADSTS65004"}

ASK_AN_ADMIN = ("Send the 'request consent' link from RoomCal to a Microsoft admin of your organisation "
                "(Global Administrator, Privileged Role Administrator, Application Administrator or "
                "Cloud Application Administrator) and ask them to open it and accept.")
START_AGAIN = "Start again with 'Add tenant' in RoomCal to get a fresh link."


def outcome_for_error(error: str, description: str | None) -> ConsentOutcome:
    code = re.sub(r"[^a-z0-9_]", "", (error or "").strip().lower())[:64]
    aadsts = _AADSTS.search(description or "")
    aadsts_code = aadsts.group(0) if aadsts else None
    if aadsts_code in _NOT_ADMIN_CODES:
        return ConsentOutcome.failed(
            "An administrator has to approve RoomCal",
            "The account that signed in is not allowed to grant organisation-wide consent.",
            [ASK_AN_ADMIN], error=code, aadsts=aadsts_code)
    if code in {"access_denied", "permission_denied", "consent_required"} or aadsts_code in _DECLINED_CODES:
        return ConsentOutcome.failed(
            "Consent was not given",
            "The permission request was declined or cancelled at Microsoft, so RoomCal was not installed.",
            ["If this was a mistake, start again and choose Accept on Microsoft's consent page.", ASK_AN_ADMIN],
            error=code, aadsts=aadsts_code)
    if code in {"invalid_request", "unauthorized_client", "invalid_client", "invalid_resource",
                "unsupported_response_type"}:
        return ConsentOutcome.failed(
            "RoomCal's app registration is not set up correctly",
            "Microsoft rejected the consent request itself, before anyone could approve it.",
            ["Ask RoomCal's operator to check ROOMCAL_CLIENT_ID and that "
             "RoomCal's public URL + /api/consent/callback is a registered redirect URI.", START_AGAIN],
            error=code, aadsts=aadsts_code)
    if code in {"server_error", "temporarily_unavailable"}:
        return ConsentOutcome.failed(
            "Microsoft could not complete the request",
            "Microsoft's sign-in service reported a temporary problem.",
            ["Wait a few minutes. " + START_AGAIN], error=code, aadsts=aadsts_code)
    return ConsentOutcome.failed(
        "Consent did not complete",
        "Microsoft returned an error RoomCal does not recognise.",
        [START_AGAIN, "If it happens again, give RoomCal's operator the error code shown below."],
        error=code or "unknown", aadsts=aadsts_code)
