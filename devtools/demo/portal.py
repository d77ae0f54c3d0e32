"""Demo step: the admin page, signed in as the demo tenant's admin through the emulator's Entra sign-in."""

from __future__ import annotations

from urllib.parse import quote

import requests

from devtools.demo.stack import Stack


def sign_in(stack: Stack, tid: str, admin: str) -> str:
    """Let the emulator sign ``admin`` in without its page (as an existing Microsoft session would), prove the
    page's API answers for that session, and return the one-click sign-in URL to print."""
    stack.control.auto_signin(tid, admin)
    url = f"{stack.base}/api/auth/signin?login_hint={quote(admin)}"
    cookie = _follow_sign_in(url, str(stack.sim.ca_path))
    me = requests.get(f"{stack.base}/api/auth/me", headers={"Cookie": cookie}, timeout=30).json()
    rooms = requests.get(f"{stack.base}/api/session/tenants/{tid}/rooms", headers={"Cookie": cookie},
                         timeout=30).json()
    print(f"    signed in through the emulator as {me['username']} ({', '.join(me['roles'])}), "
          f"tenant {me['tenant_id']}: the page lists {rooms['counts'].get('synced', 0)} synced rooms")
    return url


def _follow_sign_in(url: str, ca_path: str) -> str:
    """The browser's part, by hand: the session cookie is ``Secure``, which browsers send to http://127.0.0.1 (a
    secure context) but requests' cookie jar does not, so the Cookie header is carried explicitly."""
    cookie = ""
    for _ in range(5):
        answer = requests.get(url, headers={"Cookie": cookie} if cookie else {}, allow_redirects=False,
                              verify=ca_path, timeout=60)
        if "Set-Cookie" in answer.headers:
            cookie = answer.headers["Set-Cookie"].split(";", 1)[0]
        if answer.status_code != 302:
            answer.raise_for_status()
            raise RuntimeError(f"sign-in stopped at {url} with HTTP {answer.status_code}")
        url = answer.headers["Location"]
        if url.startswith("/api/portal"):
            return cookie
    raise RuntimeError("sign-in did not come back to the admin page")
