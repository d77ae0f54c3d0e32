"""The admin page end to end in a real browser: an admin signs in through the emulator's Entra, runs the setup
wizard (Add tenant → consent → RBAC script → rooms → Continue setup → Synchronize), sees the rooms with their
reasons, opens analytics and downloads a CSV; another tenant's admin cannot see this tenant by any URL; a reader
cannot change anything. axe-core finds no serious or critical violation on any page; no CSP violation occurs."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from devtools.demo import sensors
from functions.guard import OPERATIONS, SESSION_PREFIX
from tests.e2e.pages import Admin

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]
RBAC_ROLE, RBAC_SCOPE = "Application Calendars.ReadWrite", "RoomCal Rooms"


@pytest.fixture(scope="module")
def admin(browser, stack, screenshots):
    person = Admin(browser, stack, f"admin@{stack.office['domain']}", screenshots, "admin")
    yield person
    person.close()


def wait_until(predicate, timeout=90.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached within {timeout:.0f}s")


def test_admin_runs_the_wizard_end_to_end(admin, stack):
    page, tid, domain = admin.page, stack.office["tenant"], stack.office["domain"]
    page.goto(admin.portal)
    page.get_by_role("heading", name="Sign in to RoomCal").wait_for()
    assert admin.check("signin") == []
    admin.sign_in()
    page.get_by_role("heading", name="Setup", level=1).wait_for()
    assert tid in page.locator("#who").inner_text()

    page.get_by_role("button", name="Add tenant").click()
    request = page.get_by_label("Message with a one-time consent link for your Microsoft admin")
    request.wait_for()
    assert f"/{tid}/v2.0/adminconsent" in request.input_value()
    page.get_by_role("button", name="Copy request").wait_for()
    assert admin.check("wizard-consent") == []

    page.get_by_role("link", name="Give admin consent at Microsoft").click()
    page.select_option("select[name=login_hint]", admin.upn)
    page.get_by_role("button", name="Accept").click()
    page.get_by_role("heading", name="RoomCal is installed in your tenant").wait_for()
    page.get_by_role("link", name="Back to RoomCal's admin page").click()
    page.get_by_role("button", name="Generate PowerShell").wait_for()

    assert page.get_by_label("Group e-mail address").input_value() == f"roomcal-rooms@{domain}"
    page.get_by_role("button", name="Generate PowerShell").click()
    script = page.locator("#rbac-script").inner_text()
    assert "New-ManagementScope" in script and f"roomcal-rooms@{domain}" in script
    assert admin.check("wizard-rbac", phone=True) == []
    stack.control.assign_role(tid, RBAC_ROLE, scope=RBAC_SCOPE)  # the Exchange admin runs the script

    page.get_by_role("button", name="Import rooms from Microsoft 365").click()
    page.get_by_text(re.compile(r"\d+ rooms added")).wait_for()
    _csv_import_with_a_bad_row(admin, stack)

    admin.tab("Setup", "#continue-setup")
    page.get_by_role("button", name="Continue setup").click()
    page.get_by_text(re.compile(r"rooms checked — done\.")).wait_for(timeout=90_000)
    page.get_by_role("button", name="Synchronize room calendars").click()
    page.get_by_text(re.compile(r"\d+ rooms are being synchronised")).wait_for()
    page.reload()
    page.get_by_role("heading", name="Synchronize room calendars done").wait_for()
    assert admin.check("wizard-done") == []


def _csv_import_with_a_bad_row(admin, stack):
    page, domain = admin.page, stack.office["domain"]
    misfiled = next(e for e, label in stack.control.truth(stack.office["tenant"])["misconfigured"].items()
                    if label == "not_a_room")
    admin.tab("Rooms", "#csv-file")
    page.set_input_files("#csv-file", files=[{"name": "rooms.csv", "mimeType": "text/csv", "buffer": (
        f"email,capacity\nboardroom-x@{domain},8\n{misfiled},4\nnot-an-address,3\n").encode()}])
    page.get_by_role("button", name="Import CSV").click()
    errors = page.get_by_role("table", name="Rows that were not imported")
    errors.wait_for()
    assert "not-an-address" in errors.inner_text() and "2 added" in page.locator(".notice.ok").inner_text()
    page.get_by_label("Room mailbox e-mail").fill(f"pop-up-room@{domain}")
    page.get_by_role("button", name="Register").click()
    row = page.locator("tbody tr", has_text=f"pop-up-room@{domain}")
    row.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Remove pop-up-room@{domain}").click()
    page.get_by_text(f"pop-up-room@{domain} removed.").wait_for()
    expect(row).to_have_count(0)


def test_rooms_show_why_each_room_is_not_synced(admin, stack):
    page, tid = admin.page, stack.office["tenant"]

    def initial_sync_done():
        rooms = admin.json(f"/api/{SESSION_PREFIX}/tenants/{tid}/rooms")["rooms"]
        synced = [r for r in rooms if r["sync_status"] == "synced"]
        return synced and all(r["last_sync_at"] and r["subscription_expires_at"] for r in synced)

    wait_until(initial_sync_done, what="the initial sync of every synced room")
    sensors.ingest_week(stack, tid)  # the facility manager links sensors; the platform posts a week of presence
    admin.tab("Rooms", "table")
    text = page.locator("table").first.inner_text()
    assert "not synced" in text and "synced" in text
    assert "Fix:" in text  # every not-synced room says how to fix it
    for reason in ("mailbox", "room"):
        assert reason in text.lower()
    assert admin.check("rooms", phone=True) == []
    admin.tab("Live status", "table")
    assert "rooms busy" in page.locator("main").inner_text()
    assert admin.check("status") == []


def test_analytics_and_its_csv_download(admin, stack):
    page, tid = admin.page, stack.office["tenant"]
    summary = f"/api/{SESSION_PREFIX}/tenants/{tid}/analytics/summary?from={_days_ago(29)}&to={_days_ago(0)}"
    wait_until(lambda: (admin.json(summary).get("totals") or {}).get("meetings"), what="aggregates of the synced rooms")
    admin.tab("Analytics", "form[aria-label=Filters]")
    page.locator("#a-series, main .notice").first.wait_for()
    notice = page.locator("main .notice")
    assert notice.count() == 0, notice.first.inner_text()
    page.wait_for_function("document.querySelectorAll('canvas').length >= 6")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(admin.shots / "admin-analytics-top.png"))
    page.get_by_role("heading", name="Occupancy sensors").wait_for()
    page.get_by_text("No-show rate").wait_for()
    page.get_by_label("Grace period (minutes, 5-30)").fill("15")
    page.get_by_role("button", name="Simulate").click()
    page.locator("form[aria-label='Policy simulator'] .kpi").first.wait_for()
    assert "Hours freed" in page.locator("form[aria-label='Policy simulator']").inner_text()
    assert admin.check("analytics", phone=True) == []
    with page.expect_download() as download:
        page.locator("a[data-table=rooms]", has_text="CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    api = admin.page.evaluate("async (u) => (await fetch(u)).json()",
                              page.locator("a[data-table=rooms]", has_text="CSV").get_attribute("href")
                              .replace("&format=csv", "&format=json"))
    listed = {r["room"]: r for r in (api["rooms"] if isinstance(api, dict) else api)}
    assert rows and {r["room"] for r in rows} == set(listed)
    for row in rows:  # the CSV carries the API's figures, room by room
        expected = listed[row["room"]]
        assert int(row["meetings"] or 0) == (expected["meetings"] or 0), row["room"]
        if expected["booking_rate"] is not None:
            assert float(row["booking_rate"]) == pytest.approx(expected["booking_rate"], abs=1e-4), row["room"]
    assert sum(int(r["meetings"] or 0) for r in rows) > 0


def _days_ago(n: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


def test_settings_page(admin):
    page = admin.page
    admin.tab("Settings", "form[aria-label='Tenant settings']")
    threshold = page.get_by_label("Ad-hoc threshold (minutes)")
    threshold.fill("20")
    page.get_by_role("button", name="Save settings").click()
    page.locator("main .notice").first.wait_for()
    # the ad-hoc threshold changes stored figures: the answer says a rebuild was queued, the page says so
    assert page.locator("main .notice").first.inner_text().splitlines() == [
        "Saved: adhoc_threshold_minutes.",
        "Analytics are being recomputed with the new settings (a few minutes for large tenants)."]
    assert page.get_by_role("button", name="Offboard this organisation").is_disabled()
    page.get_by_role("button", name="Preview: what would be released now").click()
    page.get_by_text(re.compile(r"Dry run: \d+ meetings would be released now")).wait_for()
    assert admin.check("settings", phone=True) == []
    assert admin.csp_violations == []


def test_another_tenants_admin_cannot_see_this_tenant_by_any_url(browser, stack, screenshots):
    intruder = Admin(browser, stack, f"admin@{stack.other['domain']}", screenshots, "other")
    try:
        intruder.sign_in()
        victim = stack.office["tenant"]
        for op in OPERATIONS:
            if not op.sessions or "{tenant_id}" not in op.route:
                continue
            path = "/api/" + SESSION_PREFIX + "/" + op.route.replace("{tenant_id}", victim).replace(
                "{email}", f"room01@{stack.office['domain']}")
            for method in op.methods:
                status = intruder.fetch(method, re.sub(r"{[^}]+}", "x", path), None if method == "GET" else {})
                assert status in (403, 404), f"{method} {path}: {status}"
        intruder.tab("Rooms", "main p, main table")
        assert stack.office["domain"] not in intruder.page.locator("main").inner_text()
        for key in ("x-functions-key", "code"):  # the operator routes need a key the browser does not have
            assert intruder.page.evaluate("async (u) => (await fetch(u)).status",
                                          f"/api/tenants/{victim}/rooms") == 401, key
    finally:
        intruder.close()


def test_a_reader_can_look_but_not_change(browser, stack, screenshots):
    reader = Admin(browser, stack, f"rita@{stack.office['domain']}", screenshots, "reader")
    try:
        reader.sign_in()
        tid = stack.office["tenant"]
        reader.tab("Rooms", "table")
        assert reader.page.get_by_role("button", name="Remove").count() == 0
        assert reader.page.get_by_text("You can look, not change").count() == 1
        assert reader.check("rooms") == []
        for op in OPERATIONS:
            if not op.sessions or "{tenant_id}" not in op.route:
                continue
            for method in op.methods:
                if method != "GET":
                    path = f"/api/{SESSION_PREFIX}/" + re.sub(r"{[^}]+}", "x", op.route.replace("{tenant_id}", tid))
                    assert reader.fetch(method, path, {}) == 403, f"{method} {path}"
        _keyboard_only_to_settings(reader.page)
        assert reader.page.get_by_label("Ad-hoc threshold (minutes)").is_disabled()
    finally:
        reader.close()


def _keyboard_only_to_settings(page):
    """Keyboard use: the skip link comes first, tabs are reached with Tab and opened with Enter, focus is visible."""
    page.locator("body").click(position={"x": 5, "y": 300})
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.tab") == "settings":
            break
    else:
        raise AssertionError("the Settings tab is not reachable with the keyboard")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "keyboard focus is not visible"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Settings", level=1).wait_for()
    page.locator("form[aria-label='Tenant settings']").wait_for()


def test_sign_out_ends_the_session_and_its_copies(admin, browser, stack):
    """After sign-out the page asks to sign in again, and a copy of the old cookie opens nothing."""
    kept = [c for c in admin.context.cookies() if c["name"] == "roomcal_session"]
    admin.page.get_by_role("button", name="Sign out").click()
    admin.page.get_by_role("heading", name="Sign in to RoomCal").wait_for()
    thief = browser.new_context()
    try:
        thief.add_cookies(kept)
        answer = thief.request.get(f"{stack.base}/api/session/tenants/{stack.office['tenant']}/rooms")
        assert kept and answer.status == 401
    finally:
        thief.close()
