"""The static-check tools live in .venv-tools (requirements-tools.txt, `make setup`): checkov pins packages the
app's venv must not inherit. Missing tools fail under CI and skip, loudly, elsewhere."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".venv-tools" / "bin"


def tool(name: str) -> Path:
    path = TOOLS_BIN / name
    if path.exists():
        return path
    message = f"{path} is missing: run `make setup` (installs requirements-tools.txt into .venv-tools)"
    if os.environ.get("CI"):
        pytest.fail(message)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)
