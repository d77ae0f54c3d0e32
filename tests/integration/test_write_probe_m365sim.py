"""The write-access probe against the emulator in both orders Exchange might check the id and the
permission in (the probe is undocumented): the answer RoomCal reads is right either way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devtools.m365sim import ControlClient, Emulator
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared import bootstrap
from shared.config import load_settings
from shared.onboarding import room_checks
from tests.fakes import FakeQueue, InMemoryTables

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Emulator(port=0, seed=2, state_dir=tmp_path_factory.mktemp("m365sim-probe")) as s:
        yield s


@pytest.fixture(scope="module")
def office(sim):
    ctl = ControlClient(sim.base_url, sim.ca_path)
    tid = ctl.create_tenant(domain="probe.example.com", name="Probe", consented=True)["id"]
    for room, group, role in (("write", "rw", "Application Calendars.ReadWrite"),
                              ("read", "ro", "Application Calendars.Read")):
        ctl.add_room(tid, f"{room}@probe.example.com")
        ctl.add_group(tid, f"{group}@probe.example.com", [f"{room}@probe.example.com"])
        ctl.add_scope(tid, group, member_of_group=f"{group}@probe.example.com", recipient_type="RoomMailbox")
        ctl.assign_role(tid, role, group)
    settings = load_settings(environment="development", graph_base_url=f"{sim.base_url}/v1.0",
                             login_base_url=sim.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_SECRET,
                             ca_bundle=sim.ca_path, hash_key="k" * 32)
    graph = bootstrap.build_services(settings, tables=InMemoryTables(), queues=FakeQueue()).require_graph()
    yield ctl, tid, graph
    ctl.settings(decline_check_order="id_first")


def _check(graph, tid: str, room: str) -> room_checks.CheckResult:
    return room_checks.check_room(graph, tid, f"{room}@probe.example.com", now=datetime.now(UTC), want_write=True,
                                  listed_in_places=True)


@pytest.mark.parametrize("order", ["id_first", "permission_first"])
def test_write_and_read_only_rooms_are_told_apart_in_either_order(office, order):
    ctl, tid, graph = office
    ctl.settings(decline_check_order=order)
    write, read = _check(graph, tid, "write"), _check(graph, tid, "read")
    assert (write.code, write.can_write) == ("ready", True)
    assert (read.code, read.can_write) == ("read_only_role", False)
    assert ctl.stats()["declines"] == []  # nothing in any calendar was declined


def test_a_malformed_probe_id_would_give_write_access_unknown_not_write_access(office, monkeypatch):
    """What the old, badly formed probe id got from an id-first Exchange: 400, which is no proof."""
    ctl, tid, graph = office
    ctl.settings(decline_check_order="id_first")
    monkeypatch.setattr(room_checks, "PROBE_EVENT_ID", "AAMkAGRvb21DYWwtd3JpdGUtcHJvYmU=")
    for room in ("write", "read"):
        result = _check(graph, tid, room)
        assert (result.code, result.can_write, result.graph_code) == ("write_unknown", None, "ErrorInvalidIdMalformed")
    assert "Test-ServicePrincipalAuthorization" in result.words()[2]
