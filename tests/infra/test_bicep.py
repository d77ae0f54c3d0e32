"""infra/ passes checkov with every exception justified beside it, and every Bicep file parses (pycep-parser,
the parser checkov itself uses; no Bicep compiler installs here)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.infra.tools import ROOT, tool

INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(.*)$")

PARSE_ALL = """
import json, sys
from pathlib import Path
from pycep import BicepParser
parser, out = BicepParser(), {}
for name in sys.argv[1:]:
    try:
        tree = parser.parse(file_path=Path(name))
        out[name] = {"ok": True, "resources": sorted(tree.get("resources", {}))}
    except Exception as exc:
        out[name] = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:500]}"}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def parsed() -> dict:
    python = tool("python")
    done = subprocess.run([str(python), "-c", PARSE_ALL, *map(str, BICEP_FILES)], capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)


def test_there_is_a_main_template_with_modules():
    assert INFRA / "main.bicep" in BICEP_FILES and len(BICEP_FILES) > 5


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_each_bicep_file_parses(parsed, path):
    result = parsed[str(path)]
    assert result["ok"], result.get("error")


def test_main_deploys_every_module(parsed):
    """Every module file is used by main.bicep (no orphan that checkov passes but nothing deploys)."""
    main = (INFRA / "main.bicep").read_text()
    for path in BICEP_FILES:
        if path.parent.name == "app":
            assert f"'app/{path.name}'" in main, f"main.bicep does not deploy {path.name}"


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory) -> dict:
    checkov = tool("checkov")
    home = tmp_path_factory.mktemp("checkov-home")
    done = subprocess.run([str(checkov), "--directory", str(INFRA), "--output", "json", "--skip-download",
                           "--framework", "bicep", "json", "secrets"], capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(home), "BC_SKIP_MAPPING": "TRUE",
                               "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
    reports = json.loads(done.stdout or "[]")
    return {r["check_type"]: r for r in (reports if isinstance(reports, list) else [reports])}


def test_checkov_finds_no_failing_check(checkov_report):
    bicep = checkov_report["bicep"]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in bicep["results"].get("failed_checks", [])]
    assert failed == []
    assert bicep["summary"]["parsing_errors"] == 0
    assert bicep["summary"]["passed"] > 20  # it really read the resources
    for other in set(checkov_report) - {"bicep"}:
        assert checkov_report[other]["results"].get("failed_checks", []) == [], other


def test_every_skipped_check_is_justified_beside_it(checkov_report):
    skipped = {c["check_id"] for c in checkov_report["bicep"]["results"].get("skipped_checks", [])}
    reasons = {}
    for path in BICEP_FILES:
        for line in path.read_text().splitlines():
            match = SKIP.search(line)
            if match:
                reasons[match.group(1)] = match.group(2).lstrip(": ").strip()
    assert skipped, "checkov reported no skips: the suppression comments were not read"
    assert skipped <= set(reasons)
    for check, reason in reasons.items():
        assert len(reason.split()) >= 5, f"{check} is skipped without a reason beside it"
