"""The notificationUrl validation handshake
(change-notifications-delivery-notificationurl-validation.md) and the URL rules.

Graph POSTs ``{url}?validationToken={url-encoded token}`` with ``Content-Type: text/plain; charset=utf-8`` and
an empty body, and expects within 10 s: 200, ``Content-Type: text/plain`` and the *decoded* token as the body.
The error codes and messages are the ones Graph is observed to answer (microsoftgraph sample issues); the docs
only say "400 Bad Request".
"""

from __future__ import annotations

import threading
from urllib.parse import quote_plus, urlsplit

import requests

from . import graph_errors as ge

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_local = threading.local()


def session(verify: bool) -> requests.Session:
    """One Session per thread: requests.Session is not thread-safe. ``trust_env = False`` so the machine's
    CA-bundle variables do not apply (see README, Trusting the CA)."""
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        s.trust_env = False
        _local.session = s
    s.verify = verify
    return s


def check_url(url: object, field: str) -> str:
    """https only; plain http is accepted for loopback hosts so a local dev host can receive notifications
    (an emulator extension: Graph itself needs a public https URL)."""
    if not isinstance(url, str) or not url:
        raise ge.bad_request(f"Invalid '{field}': a URL is required.", "InvalidRequest")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and (parts.hostname or "") in LOOPBACK:
        return url
    raise ge.bad_request(f"Subscription validation request failed. '{field}' must be an https URL.", "ValidationError")


def with_query(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{name}={quote_plus(value)}"


def validate(url: str, token: str, timeout_s: float, verify: bool) -> None:
    """Run one validation request; raise the 400 Graph answers when the endpoint fails it."""
    failed_200 = (
        "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."
    )
    try:
        r = session(verify).post(
            with_query(url, "validationToken", token),
            data=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=timeout_s,
        )
    except requests.Timeout as exc:
        raise ge.bad_request("Subscription validation request timed out.", "InvalidRequest") from exc
    except requests.RequestException as exc:
        raise ge.bad_request(failed_200, "ValidationError") from exc
    if r.elapsed.total_seconds() > timeout_s:  # a slow trickle that requests' per-read timeout let through
        raise ge.bad_request("Subscription validation request timed out.", "InvalidRequest")
    if r.status_code != 200:
        raise ge.bad_request(failed_200, "ValidationError")
    if not r.headers.get("Content-Type", "").lower().startswith("text/plain"):
        raise ge.bad_request(
            "Subscription validation request failed. Response must have Content-Type text/plain.", "ValidationError"
        )
    if r.content.decode("utf-8", errors="replace") != token:
        raise ge.bad_request(
            "Subscription validation request failed. Response must exactly match validationToken query parameter.",
            "ValidationError",
        )
