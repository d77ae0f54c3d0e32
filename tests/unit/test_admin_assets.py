"""The admin page's assets: shipped in the package, nothing from a CDN, Chart.js equal to the locked npm copy,
and an OpenAPI 3.1 document that describes every admin endpoint the guard registered."""

import json
import re
from pathlib import Path

import pytest

import function_app  # noqa: F401 - importing the app registers every admin endpoint
from functions.guard import OPERATIONS
from shared.admin.openapi import build_document

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "shared" / "admin" / "static"


def test_no_asset_loads_anything_from_another_origin():
    for path in STATIC.glob("*"):
        if path.suffix in (".html", ".js", ".css") and path.name != "chart.umd.min.js":
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path.name
            assert "innerHTML" not in text and "eval(" not in text, path.name


def test_vendored_chartjs_is_the_locked_npm_release():
    lock = json.loads((ROOT / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/chart.js"]["version"]
    shipped = (STATIC / "chart.umd.min.js").read_text(encoding="utf-8")
    assert f"Chart.js v{version}" in shipped[:200]
    assert (STATIC / "chart.js-LICENSE.txt").read_text().startswith("The MIT License")
    installed = ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
    if not installed.exists():
        pytest.skip("npm packages not installed")
    assert installed.read_text(encoding="utf-8") == shipped


def test_openapi_document_is_valid_3_1_and_covers_every_admin_endpoint():
    from openapi_spec_validator import validate

    document = build_document(OPERATIONS, version="test")
    validate(document)
    assert document["openapi"] == "3.1.0"
    described = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    for op in OPERATIONS:
        for method in op.methods:
            assert ("/" + re.sub(r"{(\w+)(?::[^}]*)?}", r"{\1}", op.route), method) in described
    patch = document["paths"]["/tenants/{tenant_id}/settings"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("TenantSettingsUpdate")
    assert "office_hours" in document["components"]["schemas"]["TenantSettingsUpdate"]["properties"]
