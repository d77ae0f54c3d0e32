"""The no-show release end to end: the emulator's calendars synced into Azurite, presence posted by the
sensor-platform simulator, a dry run, then a real decline visible in the emulator as the room's response;
never twice, never with presence in the grace period, never without verified write access."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from devtools import sensorsim
from devtools.m365sim import ControlClient, Emulator
from devtools.m365sim.canary import CANARY_PREFIX
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared import bootstrap
from shared.adapters.tables import AzureTableStore
from shared.config import load_settings
from shared.messages import ROOM_CHANGES
from shared.models import TenantSettingsUpdate
from shared.onboarding import rooms, tenants
from shared.onboarding import use_cases as onboarding
from shared.onboarding.room_import import RoomUpdate
from shared.ops import audit
from tests.fakes import FakeQueue
from tests.integration.offices import small_office
from tests.integration.test_onboarding_m365sim import apply_rbac, consent, verify_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Emulator(port=0, seed=4, state_dir=tmp_path_factory.mktemp("m365sim-noshow")) as s:
        yield s


@pytest.fixture
def services(sim, storage_connection):
    settings = load_settings(environment="development", graph_base_url=f"{sim.base_url}/v1.0",
                             login_base_url=sim.base_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_SECRET,
                             ca_bundle=sim.ca_path, public_base_url="http://127.0.0.1:7071", hash_key="n" * 32)
    return bootstrap.build_services(settings, tables=AzureTableStore(storage_connection), queues=FakeQueue())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _drain(services) -> None:
    while messages := services.queues.messages(ROOM_CHANGES):
        services.queues.sent = [s for s in services.queues.sent if s[0] != ROOM_CHANGES]
        for m in messages:
            services.room_changes.handle(m)


def _office(sim, services, *, release_before_verify: bool):
    """good1 and good2 with sensors and a meeting each that began 12 minutes ago; ann's presence in good2 from
    minute 6 on. Returns (ctl, tenant id, domain, now)."""
    ctl = ControlClient(sim.base_url, sim.ca_path)
    tid, domain = small_office(ctl, "noshow")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=12)
    for name in ("good1", "good2"):
        room = f"{name}@{domain}"
        ctl.create_meeting(tid, f"ann@{domain}", [room], _iso(start), _iso(start + timedelta(hours=1)),
                           created=_iso(now - timedelta(days=2)))
        ctl.set_sensor(tid, room, f"sn-{name}")
    ctl.set_occupancy(tid, f"good2@{domain}", [{"start": _iso(start + timedelta(minutes=6)),
                                                "end": _iso(now), "people": 2}])
    assert consent(sim, services, tid).ok
    apply_rbac(ctl, tid, domain)
    onboarding.import_rooms(services, tid, actor="fm")
    for name in ("good1", "good2"):
        rooms.update(services.tables, services.clock, tid, f"{name}@{domain}", RoomUpdate(sensor_id=f"sn-{name}"),
                     actor="fm")
    release_on = TenantSettingsUpdate(noshow_release=True)
    if release_before_verify:
        tenants.update_settings(services.tables, services.clock, tid, release_on, actor="fm")
    verify_all(services, tid)
    onboarding.synchronise(services, tid, actor="fm")
    _drain(services)
    if not release_before_verify:
        tenants.update_settings(services.tables, services.clock, tid, release_on, actor="fm")
    truth = ctl.truth(tid, start=_iso(now - timedelta(hours=1)), end=_iso(now + timedelta(hours=2)))
    rows = sensorsim.office_readings(truth, now - timedelta(minutes=30), now, "samples")
    report = services.occupancy.ingest_body(tid, sensorsim.as_csv(rows, "samples").encode(), "text/csv")
    assert report["rejected"] == 0 and report["accepted"] == len(rows) > 0
    return ctl, tid, domain, now


def _room_response(ctl, tid, room, now) -> str:
    truth = ctl.truth(tid, start=_iso(now - timedelta(hours=1)), end=_iso(now + timedelta(hours=2)), room=room)
    (event,) = truth["rooms"][room]["events"]
    return next(a["status"]["response"] for a in event["attendees"] if a["emailAddress"]["address"].lower() == room)


def test_dry_run_then_a_real_decline_as_the_room_once(sim, services):
    ctl, tid, domain, now = _office(sim, services, release_before_verify=True)
    good1, good2 = f"good1@{domain}", f"good2@{domain}"
    release = services.occupancy.release()
    dry = release.sweep(tid, dry_run=True).as_dict()
    assert {(m["room"], m["decision"], m["reason"]) for m in dry["meetings"]} == {
        (good1, "would_release", ""), (good2, "skipped", "presence")}
    assert _room_response(ctl, tid, good1, now) != "declined"
    before = len(ctl.stats()["declines"])
    done = release.sweep(tid).as_dict()
    assert done["counts"] == {"released": 1, "skipped": 1} and done["graph_calls"] == 2
    assert _room_response(ctl, tid, good1, now) == "declined"
    assert _room_response(ctl, tid, good2, now) != "declined"
    again = services.occupancy.release().sweep(tid).as_dict()  # a restart: a new service object
    assert {m["reason"] for m in again["meetings"] if m["room"] == good1} == {"already_released"}
    declines = ctl.stats()["declines"]
    assert len(declines) == before + 1 and declines[-1]["mailbox"] == good1 and declines[-1]["sendResponse"]
    assert "within 10 minutes" in declines[-1]["comment"] and "stays in your calendar" in declines[-1]["comment"]
    entries = audit.list_entries(services.tables, tenant_id=tid)
    assert [e["detail"]["room"] for e in entries if e["action"] == "noshow.released"] == [good1]
    today = now.date().isoformat()
    report = services.occupancy.report(tid, {"from": today, "to": today, "room": good1})
    assert report["rooms"][0]["released"] == 1
    stored = [row for table in ("NoShowReleases", "Audit", "Occupancy") for row in services.tables.query(table)]
    seen = json.dumps([stored, done, report], default=str)
    assert stored and CANARY_PREFIX not in seen and "join" not in seen.lower()  # no subject, body or join URL


def test_no_release_while_write_access_is_not_verified(sim, services):
    ctl, tid, domain, now = _office(sim, services, release_before_verify=False)
    done = services.occupancy.release().sweep(tid).as_dict()
    reasons = {m["room"]: m["reason"] for m in done["meetings"]}
    assert reasons == {f"good1@{domain}": "write_access_not_verified", f"good2@{domain}": "presence"}
    assert _room_response(ctl, tid, f"good1@{domain}", now) != "declined"
