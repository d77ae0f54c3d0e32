"""`make demo` is the product's main job: it must run from nothing to a printed result."""

import os
import signal
import socket
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
    assert "0 rejected" in out and "room-days changed (idempotent)" in out and "hours lost per week" in out
    assert "ad-hoc meet-ups" in out and "grace 10 min: would release" in out
    assert "dry run: {'would_release': 1}" in out and "release: {'released': 1}" in out
    assert "answered 'declined'" in out and "already_released" in out
    assert "booking rate, all rooms" in out and "ad-hoc share of meetings" in out and "finding (" in out
    for name in ("analytics-rooms.csv", "analytics-summary.xlsx"):
        assert "wrote " in out and name in out
    assert "Demo complete." in out
    assert "signed in through the emulator as admin@" in out and "/api/portal" in out


def test_demo_kept_running_stops_everything_on_sigterm(tmp_path):
    """A demo left serving and then killed takes Azurite, the emulator and the dev host down with it."""
    port = free_port()
    env = {**os.environ, "DEMO_KEEP_RUNNING": "1"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "devtools.demo", "--port", str(port), "--sim-port", "0", "--rooms", "8",
         "--run-dir", str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in demo.stdout:
        lines.append(line)
        if line.startswith("Serving on"):
            break
    assert any(line.startswith("Serving on") for line in lines), "".join(lines)
    demo.send_signal(signal.SIGTERM)
    rest = demo.communicate(timeout=60)[0]
    assert demo.returncode == 0, rest
    assert "Stopping." in rest
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the dev host is still listening"
