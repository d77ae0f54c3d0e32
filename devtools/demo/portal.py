"""Demo step: the admin page, signed in as the demo tenant's admin through the emulator's Entra sign-in."""

from __future__ import annotations

from urllib.parse import quote

import requests

from devtools.demo.stack import Stack


def sign_in(stack: Stack, tid: str, admin: str) -> str:
    """Let the emulator sign ``admin`` in without its page (as an existing Microsoft session would), prove the
    page's API answers for that session, and return the one-click sign-in URL to print."""
    stack.control.auto_signin(tid, admin)
    browser = requests.Session()
    browser.trust_env = False
    browser.verify = str(stack.sim.ca_path)
    url = f"{stack.base}/api/auth/signin?login_hint={quote(admin)}"
    landing = browser.get(url, timeout=60)
    landing.raise_for_status()
    me = browser.get(f"{stack.base}/api/auth/me", timeout=30).json()
    rooms = browser.get(f"{stack.base}/api/session/tenants/{tid}/rooms", timeout=30).json()
    print(f"    signed in through the emulator as {me['username']} ({', '.join(me['roles'])}), "
          f"tenant {me['tenant_id']}: the page lists {rooms['counts'].get('synced', 0)} synced rooms")
    return url
