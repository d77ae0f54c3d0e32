"""Just enough of a browser to click through the emulator's admin-consent page."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.options: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "option":
            self.options.append(attrs.get("value") or "")


def approve_consent(session: requests.Session, consent_url: str, admin: str) -> str:
    """Open the consent page, sign in as ``admin``, press Accept; return where Microsoft redirects to."""
    page = session.get(consent_url, timeout=30)
    page.raise_for_status()
    form = _FormParser()
    form.feed(page.text)
    if form.action is None:
        raise RuntimeError("the consent page has no form")
    if admin not in form.options:
        raise RuntimeError(f"{admin} is not offered on the consent page (offered: {form.options})")
    answer = session.post(urljoin(page.url, form.action), timeout=30, allow_redirects=False,
                          data={**form.fields, "login_hint": admin, "action": "accept"})
    if answer.status_code != 302:
        raise RuntimeError(f"consent was not accepted: HTTP {answer.status_code}")
    return answer.headers["Location"]
