"""Browser steps shared by the admin-page tests: sign in through the emulator, axe-core, screenshots."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import AXE

SERIOUS = {"serious", "critical"}


class Admin:
    """One person's browser: their own context (cookies), CSP violations and axe results collected."""

    def __init__(self, browser, stack, upn: str, shots: Path, prefix: str) -> None:
        self.stack, self.upn, self.shots, self.prefix = stack, upn, shots, prefix
        self.context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900},
                                           accept_downloads=True)
        self.context.add_init_script(path=str(AXE))  # CDP-injected: the page's own CSP stays strict
        self.page = self.context.new_page()
        self.csp_violations: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.csp_violations.append(message.text)

    @property
    def portal(self) -> str:
        return f"{self.stack.base}/api/portal"

    def sign_in(self) -> None:
        self.page.goto(self.portal)
        self.page.get_by_role("link", name="Sign in with Microsoft").click()
        self.page.wait_for_url("**/oauth2/v2.0/authorize**")
        self.page.select_option("select[name=login_hint]", self.upn)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{self.portal}**")
        self.page.get_by_role("button", name="Sign out").wait_for()

    def tab(self, name: str, ready: str) -> None:
        self.page.get_by_role("navigation", name="Sections").get_by_role("link", name=name, exact=True).click()
        self.page.get_by_role("heading", name=name, level=1).wait_for()
        self.page.locator(ready).first.wait_for()

    def check(self, name: str, *, full_page: bool = True, phone: bool = False) -> list[dict]:
        """Screenshot (laptop, and phone width when asked) and axe-core: the serious/critical violations."""
        self.page.screenshot(path=str(self.shots / f"{self.prefix}-{name}.png"), full_page=full_page)
        if phone:
            self.page.set_viewport_size({"width": 390, "height": 844})
            self.page.screenshot(path=str(self.shots / f"{self.prefix}-{name}-phone.png"), full_page=full_page)
            self.page.screenshot(path=str(self.shots / f"{self.prefix}-{name}-phone-screen.png"))
            overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            self.page.set_viewport_size({"width": 1280, "height": 900})
            assert overflow <= 1, f"{name}: the page scrolls sideways at phone width ({overflow}px)"
        result = self.page.evaluate("async () => JSON.stringify(await axe.run(document, "
                                    "{resultTypes: ['violations']}))")
        violations = [v for v in json.loads(result)["violations"] if v["impact"] in SERIOUS]
        return [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in violations]

    def fetch(self, method: str, path: str, body: dict | None = None) -> int:
        """A request from inside the page (same origin, the session cookie, the CSRF token): its HTTP status."""
        return self.page.evaluate("""async ([method, path, body]) => {
            const me = await (await fetch('/api/auth/me')).json();
            const init = {method, headers: {'X-CSRF-Token': me.csrf, 'Content-Type': 'application/json'}};
            if (body !== null) init.body = JSON.stringify(body);
            return (await fetch(path, init)).status;
        }""", [method, path, body])

    def json(self, path: str):
        return self.page.evaluate("async (u) => (await fetch(u)).json()", path)

    def close(self) -> None:
        self.context.close()
