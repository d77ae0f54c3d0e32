"""Tiny HTML pages for the interactive Entra flows (admin consent, sign-in) and their error pages."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from werkzeug.wrappers import Response


def error_page(aadsts: int, text: str, status: int = 400) -> Response:
    html = (
        f"<!doctype html><html><head><title>Sign in to your account</title></head><body>"
        f"<h1>Sorry, but we're having trouble signing you in.</h1>"
        f"<p id='error'>AADSTS{aadsts}: {escape(text)}</p></body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def user_choices(tenants) -> list[tuple[str, str]]:
    """The sign-in picker's options: (upn, "Name <upn>") for every user of the candidate tenants."""
    return [(u.upn, f"{u.name} <{u.upn}>") for t in tenants for u in sorted(t.users.values(), key=lambda u: u.upn)]


def user_form(title: str, action: str, hidden: dict, users: list[tuple[str, str]], accept: str) -> Response:
    """A form posting back to ``action``: pick a user, then Accept or Cancel (button name ``action``)."""
    fields = "".join(
        f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>" for k, v in hidden.items() if v is not None
    )
    options = "".join(f"<option value='{escape(upn)}'>{escape(label)}</option>" for upn, label in users)
    html = (
        f"<!doctype html><html><head><title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"<form method='post' action='{escape(action)}'>{fields}"
        f"<label>Signed in as <select name='login_hint'>{options}</select></label>"
        f"<button type='submit' name='action' value='accept'>{escape(accept)}</button>"
        f"<button type='submit' name='action' value='cancel'>Cancel</button></form></body></html>"
    )
    return Response(html, content_type="text/html; charset=utf-8")


def redirect(uri: str, params: dict) -> Response:
    sep = "&" if "?" in uri else "?"
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return Response("", status=302, headers={"Location": f"{uri}{sep}{query}"})
