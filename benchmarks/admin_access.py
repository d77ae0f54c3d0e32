"""Admin access costs: what the guard adds to every admin request, one full Entra sign-in, and the page's weight.

* **guard**: reading the session cookie (Fernet decrypt + JSON), the tenant/role rule and the CSRF check, per
  request, in process — against the operator path (no cookie to read). 20,000 calls each.
* **sign-in**: MSAL's authorize URL, the emulator's sign-in form posted as a browser would, the code redeemed with
  PKCE, the ID token validated (JWKS cached after the first), the session cookie written. 40 sign-ins against the
  in-process emulator (HTTPS on 127.0.0.1); the first (metadata and keys fetched) is reported apart.
* **page weight**: the admin page's shipped assets, raw and gzip-compressed, Chart.js apart.

Writes benchmarks/results/admin_access.md.
"""

from __future__ import annotations

import gzip
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from benchmarks.report import percentile, publish
from devtools.m365sim import ControlClient, Emulator, trusted_session
from devtools.m365sim.world import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from shared.admin.authorise import authorise, check_csrf
from shared.admin.id_tokens import IdTokenValidator, JwksCache
from shared.admin.principal import ADMIN_ROLE, OPERATOR, Need, Principal
from shared.admin.sessions import SessionCodec, fernet_for
from shared.admin.signin import EntraSignIn

STATIC = Path(__file__).resolve().parents[1] / "shared" / "admin" / "static"
TID = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
CALLBACK = "http://127.0.0.1:7071/api/auth/callback"


class _Clock:
    def now(self):
        return datetime.now(UTC)


def _guard(n: int = 20_000) -> dict[str, list[float]]:
    codec = SessionCodec(fernet_for("b" * 40, development=False), clock=_Clock(), minutes=60)
    cookie = codec.session_cookie(Principal(kind="entra", tenant_id=TID, object_id="o", username="ada@contoso.com",
                                            roles=frozenset({ADMIN_ROLE}))).split(";", 1)[0]
    csrf = codec.principal(cookie).csrf
    headers = {"x-csrf-token": csrf, "origin": "http://127.0.0.1:7071"}
    times: dict[str, list[float]] = {"session": [], "operator": []}
    for _ in range(n):
        began = time.perf_counter()
        who = codec.principal(cookie)
        authorise(who, Need.change, TID)
        check_csrf(who, "POST", headers, "http://127.0.0.1:7071")
        times["session"].append(time.perf_counter() - began)
        began = time.perf_counter()
        authorise(OPERATOR, Need.change, TID)
        check_csrf(OPERATOR, "POST", {}, "http://127.0.0.1:7071")
        times["operator"].append(time.perf_counter() - began)
    return times


def _sign_ins(n: int = 40) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp, Emulator(port=0, seed=3, state_dir=Path(tmp) / "sim") as sim:
        ctl = ControlClient(sim.base_url, sim.ca_path)
        tenant = ctl.create_tenant(domain="bench-signin.example.com")
        ctl.add_user(tenant["id"], "ada@bench-signin.example.com", is_admin=True, app_roles=[ADMIN_ROLE])
        session = trusted_session(sim.ca_path)
        codec = SessionCodec(fernet_for("b" * 40, development=False), clock=_Clock(), minutes=60)
        jwks = JwksCache(session, f"{sim.base_url}/organizations/v2.0/.well-known/openid-configuration")
        signin = EntraSignIn(client_id=DEFAULT_CLIENT_ID, credential=DEFAULT_SECRET, login_base_url=sim.base_url,
                             session=session, redirect_uri=CALLBACK,
                             validator=IdTokenValidator(jwks, client_id=DEFAULT_CLIENT_ID, clock=_Clock()))
        browser = trusted_session(sim.ca_path)
        times = []
        for _ in range(n):
            began = time.perf_counter()
            url, flow = signin.begin()
            page = browser.get(url, timeout=10)
            hidden = dict(re.findall(r"<input type='hidden' name='([^']+)' value='([^']*)'>", page.text))
            answer = browser.post(page.url, data={**hidden, "login_hint": "ada@bench-signin.example.com",
                                                  "action": "accept"}, allow_redirects=False, timeout=10)
            params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
            codec.session_cookie(signin.complete(flow, params))
            times.append(time.perf_counter() - began)
        return times


def _weight() -> list[tuple[str, int, int]]:
    rows = []
    own = [p for p in STATIC.iterdir() if p.suffix in (".html", ".css", ".js") and p.name != "chart.umd.min.js"]
    chart = [STATIC / "chart.umd.min.js"]
    for group, paths in (("page (HTML, CSS, JS modules)", own), ("Chart.js 4 (vendored)", chart)):
        raw = b"".join(p.read_bytes() for p in sorted(paths))
        rows.append((group, len(raw), len(gzip.compress(raw, 9))))
    return rows


def main() -> None:
    guard, sign_ins, weight = _guard(), _sign_ins(), _weight()
    us = {k: (percentile(v, 0.5) * 1e6, percentile(v, 0.95) * 1e6) for k, v in guard.items()}
    warm = sign_ins[1:]
    lines = [
        "# Admin access: the guard, one Entra sign-in, the page's weight",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on this 2-core machine (shared with other work: figures vary), "
        "`python -m benchmarks admin_access`.",
        "",
        "| what | p50 | p95 | n |",
        "|---|---|---|---|",
        f"| guard per request, signed-in admin (cookie decrypt + tenant/role + CSRF) | {us['session'][0]:.1f} µs "
        f"| {us['session'][1]:.1f} µs | {len(guard['session'])} |",
        f"| guard per request, operator (Functions key checked by the host) | {us['operator'][0]:.1f} µs "
        f"| {us['operator'][1]:.1f} µs | {len(guard['operator'])} |",
        f"| full sign-in (authorize, form, code + PKCE redeemed, ID token validated, cookie) | "
        f"{percentile(warm, 0.5) * 1e3:.0f} ms | {percentile(warm, 0.95) * 1e3:.0f} ms | {len(warm)} |",
        f"| first sign-in of a process (also fetches OpenID metadata and JWKS) | {sign_ins[0] * 1e3:.0f} ms | | 1 |",
        "",
        "| shipped asset | bytes | gzip |",
        "|---|---|---|",
        *[f"| {name} | {raw:,} | {packed:,} |" for name, raw, packed in weight],
        "",
        "Reading: the guard costs microseconds against the milliseconds of any Table Storage read an endpoint does; "
        "a sign-in is a handful of loopback HTTPS round trips (the emulator's, not Entra's, latency).",
    ]
    publish("admin_access", lines)


if __name__ == "__main__":
    main()
