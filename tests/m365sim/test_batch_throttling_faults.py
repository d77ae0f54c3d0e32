"""$batch (20 limit, dependsOn 424, inner 429), per-mailbox throttling, 5xx bursts and fault counters."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

WINDOW = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-03-02T00:00:00Z"


def _view(room: str) -> str:
    return f"/users/{room}/calendarView?{WINDOW}"


def test_batch_runs_inner_requests(office):
    reqs = [{"id": str(i), "method": "GET", "url": _view(r)} for i, r in enumerate(office.rooms)]
    reqs.append({"id": "places", "method": "GET", "url": "/places/microsoft.graph.room?$top=1"})
    r = office.graph("POST", "/$batch", json={"requests": reqs})
    assert r.status_code == 200
    res = {x["id"]: x for x in r.json()["responses"]}
    assert set(res) == {"0", "1", "2", "places"}
    assert all(x["status"] == 200 and x["headers"]["Content-Type"].startswith("application/json") for x in res.values())
    assert res["places"]["body"]["value"][0]["emailAddress"]


def test_batch_limits_and_validation(office):
    reqs = [{"id": str(i), "method": "GET", "url": _view(office.rooms[0])} for i in range(21)]
    r = office.graph("POST", "/$batch", json={"requests": reqs})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    dup = [{"id": "a", "method": "GET", "url": _view(office.rooms[0])}, {"id": "A", "method": "GET", "url": "/x"}]
    assert office.graph("POST", "/$batch", json={"requests": dup}).status_code == 400
    nobody = [{"id": "a", "method": "POST", "url": "/users/x/events/y/decline", "body": {}}]
    assert office.graph("POST", "/$batch", json={"requests": nobody}).status_code == 400  # body without Content-Type


def test_batch_depends_on_failed_request_gets_424(office):
    reqs = [
        {"id": "1", "method": "GET", "url": _view(f"nobody@{office.domain}")},
        {"id": "2", "method": "GET", "url": _view(office.rooms[0]), "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": _view(office.rooms[1])},
        {"id": "4", "method": "GET", "url": _view(office.rooms[1]), "dependsOn": ["3"]},
    ]
    res = {x["id"]: x for x in office.graph("POST", "/$batch", json={"requests": reqs}).json()["responses"]}
    assert res["1"]["status"] == 404 and res["1"]["body"]["error"]["code"] == "ErrorInvalidUser"
    assert res["2"]["status"] == 424
    assert res["3"]["status"] == 200 and res["4"]["status"] == 200


def test_batch_inner_throttling_429(office, ctl):
    ctl.settings(request_budget=2)
    reqs = [{"id": str(i), "method": "GET", "url": _view(office.rooms[0])} for i in range(4)]
    r = office.graph("POST", "/$batch", json={"requests": reqs})
    assert r.status_code == 200
    statuses = sorted(x["status"] for x in r.json()["responses"])
    assert statuses == [200, 200, 429, 429]
    throttled = [x for x in r.json()["responses"] if x["status"] == 429]
    assert all(int(x["headers"]["Retry-After"]) > 0 for x in throttled)


def test_budget_per_app_and_mailbox(office, ctl):
    ctl.settings(request_budget=3, budget_window_s=600)
    token = office.token()
    codes = [office.graph("GET", _view(office.rooms[0]), token=token).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = office.graph("GET", _view(office.rooms[0]), token=token)
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 600
    assert r.json()["error"]["code"] == "ApplicationThrottled"
    assert office.graph("GET", _view(office.rooms[1]), token=token).status_code == 200  # other mailbox unaffected
    ctl.advance_clock(600)
    assert office.graph("GET", _view(office.rooms[0]), token=token).status_code == 200  # a new window


def test_concurrency_limit_per_mailbox(office, ctl):
    ctl.settings(max_concurrency=2, latency_ms=400)
    token = office.token()
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: office.graph("GET", _view(office.rooms[0]), token=token), range(6)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) >= 2 and codes.count(429) >= 1 and set(codes) <= {200, 429}
    assert all(r.headers.get("Retry-After") for r in results if r.status_code == 429)
    assert ctl.faults()["counters"]["throttled"] >= 1


def test_default_limits_allow_four_concurrent(office, ctl):
    ctl.settings(latency_ms=300)
    token = office.token()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: office.graph("GET", _view(office.rooms[0]), token=token), range(4)))
    assert [r.status_code for r in results] == [200] * 4


def test_5xx_bursts_global_and_per_mailbox_are_counted(office, ctl):
    token = office.token()
    ctl.inject_5xx(count=2, status=503)
    first = office.graph("GET", _view(office.rooms[0]), token=token)
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert first.json()["error"]["code"] == "serviceNotAvailable"
    assert office.graph("GET", "/places/microsoft.graph.room", token=token).status_code == 503
    assert office.graph("GET", _view(office.rooms[0]), token=token).status_code == 200
    ctl.inject_5xx(count=1, status=500, mailbox=office.rooms[1])
    assert office.graph("GET", _view(office.rooms[0]), token=token).status_code == 200
    r = office.graph("GET", _view(office.rooms[1]), token=token)
    assert r.status_code == 500 and "Retry-After" not in r.headers
    counters = ctl.faults()["counters"]
    assert counters["graph_503"] == 2 and counters["graph_500"] == 1
    assert counters[f"graph_500:{office.rooms[1]}"] == 1
