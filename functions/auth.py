"""Admin sign-in over HTTP: start the Entra sign-in, Microsoft's redirect back, who am I, sign out.

All anonymous at the host (a browser has no Functions key); each checks what it needs itself.
"""

import html

import azure.functions as func

from functions.guard import read_session
from functions.http import handles_errors, json_response
from shared import bootstrap
from shared.admin import signouts
from shared.admin.authorise import check_csrf
from shared.errors import InvalidInput, RoomCalError, SignInRequired

bp = func.Blueprint()
PORTAL = "/api/portal/"
_PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@bp.route(route="auth/signin", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def signin_start(req: func.HttpRequest) -> func.HttpResponse:
    access = bootstrap.get_admin_access()
    url, flow = access.require_signin().begin(login_hint=(req.params.get("login_hint") or "")[:256] or None)
    return _redirect(url, access.sessions.flow_cookie(flow))


@bp.route(route="auth/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def signin_callback(req: func.HttpRequest) -> func.HttpResponse:
    access = bootstrap.get_admin_access()
    pending = access.sessions.read(req.headers.get("cookie"), "flow")
    try:
        if pending is None:
            raise InvalidInput("this sign-in has expired or was started in another browser",
                               fix="start the sign-in again")
        params = {k: v[:4000] for k, v in req.params.items()}
        principal = access.require_signin().complete(pending["flow"], params)
    except RoomCalError as exc:
        return _failure_page(exc, access.sessions.clear_cookie())
    return _redirect(PORTAL, access.sessions.session_cookie(principal))


@bp.route(route="auth/me", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def signin_me(req: func.HttpRequest) -> func.HttpResponse:
    principal = read_session(req)
    if principal is None:
        raise SignInRequired("not signed in", fix="open /api/auth/signin")
    return json_response({**principal.public(), "csrf": principal.csrf}, headers={"Cache-Control": "no-store"})


@bp.route(route="auth/signout", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def signin_signout(req: func.HttpRequest) -> func.HttpResponse:
    access = bootstrap.get_admin_access()
    principal = read_session(req)
    if principal is not None:
        check_csrf(principal, req.method, req.headers, access.public_base_url)
        signouts.record(bootstrap.get_services().tables, principal)  # a copy of the cookie stops working too
    return func.HttpResponse(status_code=204, headers={"Set-Cookie": access.sessions.clear_cookie(),
                                                       "Cache-Control": "no-store"})


def _redirect(location: str, cookie: str) -> func.HttpResponse:
    return func.HttpResponse(status_code=302, headers={"Location": location, "Set-Cookie": cookie,
                                                       "Cache-Control": "no-store"})


def _failure_page(exc: RoomCalError, cookie: str) -> func.HttpResponse:
    text = (f"<!doctype html><html lang='en'><meta charset='utf-8'><title>Sign-in failed - RoomCal</title>"
            f"<main style='font-family:system-ui;max-width:40rem;margin:3rem auto'><h1>Sign-in failed</h1>"
            f"<p>{html.escape(exc.message)}</p><p>{html.escape(exc.fix or '')}</p>"
            f"<p><a href='/api/auth/signin'>Sign in again</a> · <a href='{PORTAL}'>RoomCal admin</a></p></main>")
    status = 401 if isinstance(exc, SignInRequired) else 400 if isinstance(exc, InvalidInput) else 403
    return func.HttpResponse(text, status_code=status, mimetype="text/html", charset="utf-8",
                             headers={**_PAGE_HEADERS, "Set-Cookie": cookie})
