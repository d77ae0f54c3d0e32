"""`make demo` is the product's main job: it must run from nothing to a printed result."""

import os
import subprocess
import sys

import pytest

from devtools.azurite import free_port
from devtools.demo.stack import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_end_to_end_and_stops_by_itself(tmp_path):
    env = {**os.environ, "DEMO_KEEP_RUNNING": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "devtools.demo", "--port", str(free_port()), "--sim-port", "0", "--rooms", "12",
         "--run-dir", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "GET /api/health: healthy" in out
    assert "RoomCal is installed in your tenant" in out
    assert "outside the RBAC scope" in out and "mailbox not found" in out and "not a room" in out
    assert "rooms handed to the sync engine" in out
    assert "RoomCal shows it as the room's next meeting" in out
    assert "RoomCal no longer shows it" in out
    assert "notification POSTs to RoomCal" in out
    assert "Demo complete." in out
