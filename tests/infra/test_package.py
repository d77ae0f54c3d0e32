"""The deployed package (the repo less .funcignore) holds what the app needs at run time and nothing else:
it imports function_app and finds every function, every module imports from runtime dependencies only, the
admin page's static assets are in it, and no test, tool, benchmark or local setting is."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.tools import ROOT

NEVER_SHIPPED = ("tests/", "devtools/", "benchmarks/", "docs/", "infra/", ".venv", "node_modules/", ".ci/")
NEVER_SHIPPED_FILES = {"local.settings.json", "local.settings.sample.json", "requirements-dev.txt",
                       "requirements-tools.txt", "Makefile", "azure.yaml", "pyproject.toml"}
RUNTIME_FILES = {"function_app.py", "host.json", "requirements.txt", "requirements.lock",
                 "infra/exchange/Grant-RoomCalAccess.ps1"}  # served by the rbac-script endpoint


def git(*args: str) -> set[str]:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {line for line in out.splitlines() if line}


def package_files() -> set[str]:
    """What azd zips: the work tree (tracked, plus new files git does not ignore) minus .funcignore's patterns."""
    candidates = git("ls-files", "--cached") | git("ls-files", "--others", "--exclude-standard")
    ignored = (git("ls-files", "--cached", "--ignored", "--exclude-from=.funcignore")
               | git("ls-files", "--others", "--ignored", "--exclude-from=.funcignore"))
    return {f for f in candidates - ignored if (ROOT / f).is_file()}


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("package")
    for name in package_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


PROBE = """
import sys
sys.path.insert(0, sys.argv[1])  # -I drops the work directory and PYTHONPATH: only the package and site-packages
at_start = set(sys.modules)
import importlib, json, pkgutil
import function_app
functions = sorted(f.get_function_name() for f in function_app.app.get_functions())
modules = []
for package in ("shared", "functions"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        importlib.import_module(info.name)
        modules.append(info.name)
print(json.dumps({"functions": functions, "modules": modules, "loaded": sorted(set(sys.modules) - at_start)}))
"""


def probe(cwd: Path) -> dict:
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-I", "-c", PROBE, str(cwd)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_nothing_but_the_runtime_is_shipped():
    files = package_files()
    assert files >= RUNTIME_FILES
    leaked = sorted(f for f in files - RUNTIME_FILES
                    if f.startswith(NEVER_SHIPPED) or f in NEVER_SHIPPED_FILES or f.endswith(".md"))
    assert leaked == []
    assert {f.split("/", 1)[0] for f in files} <= {"function_app.py", "host.json", "requirements.txt",
                                                  "requirements.lock", "functions", "shared", "static", ".funcignore",
                                                  "infra"}


def test_static_assets_of_the_app_are_shipped():
    """Everything that is not Python under shared/ and static/ (the admin page's HTML, CSS, JS) goes along."""
    files = package_files()
    assets = {f for f in git("ls-files", "--cached") | git("ls-files", "--others", "--exclude-standard")
              if f.startswith(("shared/", "static/")) and not f.endswith((".py", ".pyc"))}
    assert assets <= files


def test_the_package_serves_the_exchange_rbac_script(package):
    """The rbac-script endpoint reads infra/exchange/Grant-RoomCalAccess.ps1 at run time (one source)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from shared.onboarding import rbac_script; "
            "print(rbac_script.SOURCE.resolve().is_relative_to(sys.argv[1]) and rbac_script.SOURCE.is_file())")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(package.resolve())], cwd=package,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr[-2000:]


def test_the_package_finds_every_function_the_repo_has(package):
    shipped = probe(package)
    in_repo = probe(ROOT)
    assert shipped["functions"] == in_repo["functions"] and len(shipped["functions"]) >= 20
    assert shipped["modules"] == in_repo["modules"]


def test_the_package_imports_only_locked_runtime_dependencies(package):
    """Every third-party module the package imports belongs to a distribution pinned in requirements.lock."""
    from importlib.metadata import packages_distributions

    locked = {line.split("==", 1)[0].strip().lower().replace("_", "-")
              for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line}
    owners = packages_distributions()
    loaded = {name.split(".", 1)[0] for name in probe(package)["loaded"]}
    third_party = {m: owners[m] for m in loaded if m in owners and m not in sys.stdlib_module_names}
    unlocked = {m: d for m, d in third_party.items()
                if not {x.lower().replace("_", "-") for x in d} & locked}
    assert unlocked == {}
    assert "devtools" not in loaded and "tests" not in loaded and "pytest" not in loaded


VENDOR_PROBE = """
import sys
sys.path[:0] = sys.argv[1:3]  # the package, then its vendored dependencies; -S: no site-packages at all
import importlib, json, pkgutil
import function_app
for package in ("shared", "functions"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted(f.get_function_name() for f in function_app.app.get_functions())))
"""


@pytest.mark.slow
def test_the_lock_alone_runs_the_package(package, tmp_path):
    """What Azure runs: the package plus requirements.lock installed for Linux x86-64 / CPython 3.11 with
    --require-hashes (infra/hooks/prepackage.ps1's command), in an interpreter with no other site-packages."""
    import os

    target = tmp_path / "site-packages"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps",
                          "--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--platform",
                          "manylinux_2_17_x86_64", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                          "--implementation", "cp", "--target", str(target), "--requirement",
                          str(ROOT / "requirements.lock")], capture_output=True, text=True, timeout=600)
    if pip.returncode != 0:
        message = f"cannot install requirements.lock here: {pip.stderr[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    base = os.path.realpath(sys.executable)
    done = subprocess.run([base, "-I", "-S", "-c", VENDOR_PROBE, str(package), str(target)], cwd=package,
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == probe(ROOT)["functions"]
