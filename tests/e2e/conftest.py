"""The admin page in Debian's Chromium (Playwright with the system browser: Playwright's own download cannot work
here), against the whole local stack: Azurite, the Microsoft 365 emulator and the dev host running function_app.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devtools.azurite import free_port
from devtools.demo import onboarding
from devtools.demo.stack import ROOT, Stack

SCREENSHOTS = ROOT / ".run" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("e2e"), free_port(), 0)
    try:
        stack.start_storage()
        stack.start_emulator(seed=7)
        office = onboarding.prepare_office(stack, seed=7, rooms=10, days_back=40, days_ahead=20)
        other = stack.control.generate(seed=8, rooms=3, days_back=5, days_ahead=5)
        stack.control.add_user(office["tenant"], f"rita@{office['domain']}", name="Rita Reader",
                               app_roles=["RoomCal.Reader"])
        stack.start_devhost()
        stack.office, stack.other = office, other
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is missing: run `bash devtools/setup.sh browser` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
