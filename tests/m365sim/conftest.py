"""One emulator per test session (real HTTPS, free port); each test builds its own tenant via the control API."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

import pytest

from devtools.m365sim import ControlClient, Emulator, trusted_session
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET, Settings

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    with Emulator(port=0, seed=1, state_dir=tmp_path_factory.mktemp("m365sim")) as s:
        yield s


@pytest.fixture
def http(sim):
    return trusted_session(sim.ca_path)


@pytest.fixture
def ctl(sim):
    return ControlClient(sim.base_url, sim.ca_path)


@pytest.fixture(autouse=True)
def _clean(sim):
    yield
    client = ControlClient(sim.base_url, sim.ca_path)
    client.settings(**asdict(Settings()))
    client.clear_faults()
    client.reset_clock()
    client.reset_notifications()
    sim.throttle.reset()


@dataclass
class Office:
    sim: Emulator
    http: object
    tid: str
    domain: str
    rooms: list[str] = field(default_factory=list)

    def token(self, tenant: str | None = None, **form) -> str:
        r = self.token_response(tenant, **form)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def token_response(self, tenant: str | None = None, **form):
        data = {
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_SECRET,
            "scope": GRAPH_SCOPE,
            "grant_type": "client_credentials",
            **form,
        }
        data = {k: v for k, v in data.items() if v is not None}
        return self.http.post(f"{self.sim.base_url}/{tenant or self.tid}/oauth2/v2.0/token", data=data, timeout=30)

    def graph(self, method: str, path: str, token: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if token is not False:
            headers["Authorization"] = f"Bearer {token or self.token()}"
        url = path if path.startswith("https://") else f"{self.sim.base_url}/v1.0{path}"
        return self.http.request(method, url, headers=headers, timeout=30, **kw)


@pytest.fixture
def office(sim, ctl, http) -> Office:
    """A consented tenant: three rooms in an RBAC scope (group), one outside it, a user mailbox in scope,
    a place without a mailbox and one whose mailbox is not Exchange-enabled."""
    n = next(_counter)
    domain = f"t{n}.example.com"
    t = ctl.create_tenant(domain=domain, name=f"Tenant {n}", consented=True)
    tid = t["id"]
    ctl.add_user(tid, f"admin@{domain}", is_admin=True, department="IT")
    ctl.add_user(tid, f"ann@{domain}", department="Sales", mailbox=True)
    rooms = [f"room{i}@{domain}" for i in range(1, 4)]
    for i, r in enumerate(rooms):
        ctl.add_room(tid, r, name=f"Room {i + 1}", capacity=4 + 2 * i, building="HQ", floor=i)
    ctl.add_room(tid, f"outside@{domain}", name="Outside", capacity=6)
    ctl.add_room(tid, f"nomailbox@{domain}", name="Ghost", mailbox=False)
    ctl.add_room(tid, f"noexo@{domain}", name="On-prem", exchange_enabled=False)
    ctl.add_group(tid, f"rooms@{domain}", [*rooms, f"ann@{domain}", f"noexo@{domain}"])
    ctl.add_scope(tid, "RoomCal", member_of_group=f"rooms@{domain}")
    ctl.assign_role(tid, "Application Calendars.ReadWrite", "RoomCal")
    return Office(sim, http, tid, domain, rooms)


@pytest.fixture
def receiver():
    from .receiver import Receiver

    rx = Receiver()
    yield rx
    rx.close()
