"""The CLI, reset, sensor occupancy and ground truth through the control API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devtools.m365sim import ControlClient, Emulator, trusted_session

ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_https_and_writes_the_ca(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.m365sim",
            "--port",
            "0",
            "--seed",
            "2",
            "--state-dir",
            str(tmp_path),
            "--generate-rooms",
            "8",
            "--client-secret",
            "cli-secret",
            "--notify-time-scale",
            "50",
            "--notify-batch-window-ms",
            "20",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert info["ca_path"] == str(tmp_path / "ca.pem") and Path(info["ca_path"]).exists()
        http = trusted_session(info["ca_path"])
        assert http.get(info["base_url"] + "/_control/health", timeout=10).json()["ok"]
        settings = http.get(info["base_url"] + "/_control/settings", timeout=10).json()
        assert settings["notify_time_scale"] == 50 and settings["notify_batch_window_ms"] == 20
        tid = info["tenants"][0]["id"]
        r = http.post(
            f"{info['base_url']}/{tid}/oauth2/v2.0/token",
            data={
                "client_id": info["client_id"],
                "client_secret": "cli-secret",
                "grant_type": "client_credentials",
                "scope": "https://graph.microsoft.com/.default",
            },
            timeout=10,
        )
        assert r.status_code == 200, r.text
        rooms = http.get(
            f"{info['base_url']}/v1.0/places/microsoft.graph.room",
            headers={"Authorization": "Bearer " + r.json()["access_token"]},
            timeout=10,
        ).json()
        assert len(rooms["value"]) == 8
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_reset_restores_a_fresh_world(tmp_path):
    with Emulator(port=0, seed=4, state_dir=tmp_path) as sim:
        ctl = ControlClient(sim.base_url, sim.ca_path)
        ctl.create_tenant(domain="extra.example.com")
        assert len(ctl.tenants()) == 2
        seen = []
        sim.world.changes.add_listener(seen.append)
        out = ctl.reset(generate_rooms=5)
        assert [t["domain"] for t in out["tenants"]] == ["office4.onmicrosoft.com"]
        tid = out["tenants"][0]["id"]
        assert len(ctl.tenant(tid)["places"]) == 5
        room = ctl.tenant(tid)["places"][0]["email"]
        ctl.create_meeting(
            tid, f"x@{out['tenants'][0]['domain']}", [room], "2026-03-02T09:00:00", "2026-03-02T10:00:00"
        )
        assert seen and seen[-1].tenant_id == tid  # listeners survive a reset


def test_occupancy_and_truth(office, ctl):
    room = office.rooms[0]
    m = ctl.create_meeting(office.tid, f"ann@{office.domain}", [room], "2026-03-02T09:00:00", "2026-03-02T10:00:00")
    ctl.set_occupancy(office.tid, room, [{"start": "2026-03-02T08:05:00Z", "end": "2026-03-02T08:50:00Z", "people": 3}])
    ctl.set_occupancy(
        office.tid, room, [{"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T12:30:00Z", "people": 2}], append=True
    )
    truth = ctl.truth(office.tid, "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z")
    entry = truth["rooms"][room]
    assert [e["id"] for e in entry["events"]] == [m["copies"][room]]
    assert [o["people"] for o in entry["occupancy"]] == [3, 2]
    assert truth["rooms"][f"nomailbox@{office.domain}"]["mailbox"] is None
    assert entry["listed_as_room"] is True
    one = ctl.truth(office.tid, "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", room=room.upper())
    assert list(one["rooms"]) == [room] and one["rooms"][room] == entry
