"""The admin page, served by the function app itself: the HTML shell, its static assets (shipped in
shared/admin/static, nothing from a CDN) under a strict Content-Security-Policy, and the OpenAPI document."""

import re
from pathlib import Path

import azure.functions as func

from functions.guard import OPERATIONS
from functions.http import json_response
from shared import __version__
from shared.admin.openapi import build_document

bp = func.Blueprint()
STATIC = Path(__file__).resolve().parents[1] / "shared" / "admin" / "static"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html",
          ".txt": "text/plain", ".json": "application/json"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin",
                    "Permissions-Policy": "camera=(), microphone=(), geolocation=()", "X-Frame-Options": "DENY"}


@bp.route(route="portal", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def admin_page(req: func.HttpRequest) -> func.HttpResponse:
    html = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{version}}", __version__)
    return func.HttpResponse(html, mimetype="text/html", charset="utf-8",
                             headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@bp.route(route="portal/static/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def admin_static(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name", "")
    path = STATIC / name
    if not _NAME.match(name) or ".." in name or path.suffix not in _TYPES or not path.is_file():
        return json_response({"error": "not_found", "message": f"no asset {name[:80]!r}"}, 404)
    mimetype = _TYPES[path.suffix]
    return func.HttpResponse(path.read_bytes(), mimetype=mimetype,
                             charset="utf-8" if mimetype.startswith("text/") else None,
                             headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"})


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(build_document(OPERATIONS, version=__version__), headers={"Cache-Control": "no-cache"})
