"""Demo steps 1: connect a Microsoft 365 tenant the way the product articles describe.

Install the enterprise app by admin consent (through the emulator's consent page), scope its
mailbox access with Exchange RBAC for Applications (as the Exchange admin would), register the
rooms, continue setup (verify), and synchronise.
"""

from __future__ import annotations

import re
import time
from html import unescape

from devtools.demo.browser import approve_consent
from devtools.demo.stack import Stack
from devtools.m365sim import trusted_session
from shared.onboarding.rbac_script import DEFAULT_SCOPE_NAME

SCOPE = DEFAULT_SCOPE_NAME  # what the script creates: the group's direct members that are room mailboxes
ROLE = "Application Calendars.ReadWrite"


def prepare_office(stack: Stack, *, seed: int, rooms: int, days_back: int = 60, days_ahead: int = 60) -> dict:
    """A generated office whose admin has not yet installed RoomCal nor granted RBAC."""
    ctl = stack.control
    office = ctl.generate(seed=seed, rooms=rooms, days_back=days_back, days_ahead=days_ahead)
    tid = office["tenant"]
    ctl.set_consent(tid, False)
    for assignment in ctl.tenant(tid)["role_assignments"]:
        ctl.remove_role(tid, assignment["id"])
    return office


def consent(stack: Stack, tid: str, admin: str) -> None:
    started = stack.api("POST", "tenants", json={"tenant": tid})
    started.raise_for_status()
    links = started.json()
    print(f"    consent URL: {links['consent_url'][:90]}…")
    browser = trusted_session(stack.sim.ca_path)
    callback = approve_consent(browser, links["consent_url"], admin)
    landing = browser.get(callback, timeout=60)
    print(f"    {admin} accepted; RoomCal's callback answered {landing.status_code}: {_headline(landing.text)}")
    landing.raise_for_status()


def rbac(stack: Stack, tid: str, group: str) -> None:
    script = stack.api("GET", f"tenants/{tid}/rbac-script", params={"scope": "group", "group": group})
    script.raise_for_status()
    path = stack.run_dir / "Grant-RoomCalAccess.ps1"
    path.write_text(script.text, encoding="utf-8-sig")
    commands = [line.strip() for line in script.text.splitlines() if re.match(r"\s*\$?\w*\s*=?\s*New-", line)]
    print(f"    script saved to {path.name} ({len(script.text.splitlines())} lines), e.g.:")
    for line in commands[:3]:
        print(f"      {line[:100]}")
    stack.control.add_scope(tid, SCOPE, member_of_group=group, recipient_type="RoomMailbox")
    for role in (ROLE, "Application MailboxSettings.Read"):  # the script's $RoomCalRoles
        stack.control.assign_role(tid, role, scope=SCOPE)
    print(f"    the Exchange admin ran it: roles '{ROLE}' and 'Application MailboxSettings.Read' on scope "
          f"'{SCOPE}' (room mailboxes in {group})")


def register_rooms(stack: Stack, tid: str, domain: str) -> None:
    imported = stack.api("POST", f"tenants/{tid}/rooms/import")
    imported.raise_for_status()
    body = imported.json()
    print(f"    imported from /places: {len(body['added'])} added, {len(body['updated'])} updated")
    # The generated office has a shared mailbox put into the RoomCal rooms group by mistake.
    misfiled = next(email for email, label in stack.control.truth(tid)["misconfigured"].items()
                    if label == "not_a_room")
    typed = [f"boardroom-x@{domain}", misfiled]
    stack.api("POST", f"tenants/{tid}/rooms", json={"rooms": [{"email": e} for e in typed]}).raise_for_status()
    print(f"    typed in by hand: {typed[0]} (no such mailbox) and {typed[1]} (a shared mailbox, not a room)")


def verify(stack: Stack, tid: str, timeout: float = 120) -> dict:
    stack.api("POST", f"tenants/{tid}/verify").raise_for_status()
    deadline = time.monotonic() + timeout
    shown = -1
    while time.monotonic() < deadline:
        progress = stack.api("GET", f"tenants/{tid}/verify").json()
        if progress["verified"] != shown:
            shown = progress["verified"]
            print(f"    verified {progress['verified']}/{progress['total']} rooms")
        if progress["done"]:
            for warning in progress.get("warnings") or []:
                print(f"    WARNING: {warning}")
            return progress
        time.sleep(0.3)
    raise RuntimeError(f"verification did not finish within {timeout:.0f}s")


def print_rooms(stack: Stack, tid: str) -> list[dict]:
    listing = stack.api("GET", f"tenants/{tid}/rooms").json()
    print(f"    {listing['counts']}")
    synced = sorted(r["email"].split("@")[0] for r in listing["rooms"] if r["sync_status"] == "synced")
    print(f"    synced ({len(synced)}):")
    for i in range(0, len(synced), 4):
        print("      " + "  ".join(synced[i:i + 4]))
    for room in sorted((r for r in listing["rooms"] if r["sync_status"] != "synced"), key=lambda r: r["email"]):
        print(f"    {room['sync_status']}: {room['email']}\n      reason: {room['reason']}")
        if room.get("fix"):
            print(f"      fix:    {room['fix']}")
    return listing["rooms"]


def synchronise(stack: Stack, tid: str) -> dict:
    answer = stack.api("POST", f"tenants/{tid}/sync")
    answer.raise_for_status()
    body = answer.json()
    print(f"    {len(body['queued'])} rooms handed to the sync engine, {len(body['not_ready'])} not ready")
    return body


def _headline(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S | re.I)
    return unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else "(no heading)"
