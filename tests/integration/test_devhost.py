"""The dev host running the fixture app in-process against the test Azurite."""

from __future__ import annotations

import base64
import http.client
import json
import time
from datetime import datetime, timedelta

import pytest
import requests

from devtools.devhost import DevHost, DevHostError
from tests.integration.devhost_helpers import (
    APP_DIR,
    FUNCTION_KEY,
    MASTER,
    names,
    peek_all,
    queue,
    rows,
    send_b64,
    started_hosts,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def start_host(azurite, tmp_path):
    with started_hosts(azurite.connection_string, tmp_path / "state") as start:
        yield start


def stop(host: DevHost) -> str:
    return host.stop()


def test_http_to_queue_to_queue_trigger_to_table(start_host, azurite):
    host, env = start_host()
    reply = requests.post(f"{host.base_url}/api/items/7", json={"note": "hi"},
                          headers={"x-functions-key": FUNCTION_KEY}, timeout=10)
    assert reply.status_code == 202 and reply.json() == {"queued": True}
    (row,) = wait_for(lambda: rows(azurite.connection_string, env["DH_TABLE"], "work"))
    assert (row["item"], row["note"], row["dequeue_count"]) == (7, "hi", 1)
    assert row["pop_receipt"] and datetime.fromisoformat(row["inserted"])
    wait_for(lambda: not peek_all(queue(azurite.connection_string, env["DH_WORK_QUEUE"])))


def test_requests_and_responses_are_mapped_like_the_worker(start_host):
    host, _ = start_host()
    url = host.base_url
    echo = requests.post(f"{url}/api/echo/Ada/more?x=1", data=b"payload", headers={"x-test": "t"}, timeout=10)
    assert echo.status_code == 200 and echo.headers["Content-Type"] == "application/json"
    assert echo.headers["X-Echo"] == "yes"
    assert echo.json() == {"method": "POST", "url": f"{url}/api/echo/Ada/more?x=1", "params": {"x": "1"},
                           "route": {"name": "Ada", "extra": "more"}, "body": "payload", "header": "t"}
    assert requests.get(f"{url}/api/echo/Ada", timeout=10).json()["route"] == {"name": "Ada"}
    text = requests.get(f"{url}/api/text", timeout=10)
    assert (text.text, text.headers["Content-Type"]) == ("plain text", "text/plain; charset=utf-8")
    assert requests.delete(f"{url}/api/nothing", timeout=10).status_code == 204  # default route, any method
    assert requests.get(f"{url}/api/boom", timeout=10).status_code == 500
    missing = requests.get(f"{url}/api/echo/Ada7", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = requests.put(f"{url}/api/echo/Ada", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


def test_request_over_100_mb_is_413(start_host):
    host, _ = start_host()
    conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=10)
    conn.putrequest("POST", "/api/echo/Ada")
    conn.putheader("Content-Length", str(100 * 1024 * 1024 + 1))
    conn.endheaders()
    assert conn.getresponse().status == 413


def test_auth_levels_and_key_sources(start_host):
    host, _ = start_host()
    url = f"{host.base_url}/api/items/1"
    denied = requests.post(url, json={}, timeout=10)
    assert denied.status_code == 401 and "x-functions-key" in denied.json()["message"]
    assert requests.post(url, json={}, headers={"x-functions-key": "wrong"}, timeout=10).status_code == 401
    assert requests.post(f"{url}?code={FUNCTION_KEY}", json={}, timeout=10).status_code == 202
    assert requests.post(f"{url}?code={FUNCTION_KEY}", json={}, headers={"x-functions-key": "wrong"},
                         timeout=10).status_code == 401  # the header wins
    assert requests.post(url, json={}, headers={"x-functions-key": MASTER}, timeout=10).status_code == 202
    # refused before any WSGI work (HttpFrontDoor.early_refusal): the same decisions as the full path
    assert requests.post(f"{url}?code=", json={}, timeout=10).status_code == 401
    assert requests.post(f"{url}?code=wrong&code={FUNCTION_KEY}", json={}, timeout=10).status_code == 401  # first
    encoded = f"{host.base_url}/api/items/%31"
    assert requests.post(encoded, json={}, timeout=10).status_code == 401
    assert requests.post(f"{encoded}?code={FUNCTION_KEY}", json={}, timeout=10).status_code == 202
    admin = f"{host.base_url}/api/admin-only"
    assert requests.get(admin, headers={"x-functions-key": FUNCTION_KEY}, timeout=10).status_code == 401
    assert requests.get(admin, headers={"x-functions-key": MASTER}, timeout=10).text == "admin ok"
    status = requests.get(f"{host.base_url}/admin/host/status", headers={"x-functions-key": MASTER}, timeout=10)
    assert status.json()["state"] == "Running"
    assert requests.get(f"{host.base_url}/admin/host/status?code={FUNCTION_KEY}", timeout=10).status_code == 401


def test_missing_key_setting_refuses_to_start(azurite, tmp_path):
    host = DevHost(str(APP_DIR / "function_app.py"), env_overrides={
        **names(), "AzureWebJobsStorage": azurite.connection_string, "DEVHOST_MASTER_KEY": MASTER,
        "DEVHOST_FUNCTION_KEY": ""}, state_dir=tmp_path)
    with pytest.raises(DevHostError, match="'enqueue' has authLevel function but DEVHOST_FUNCTION_KEY"):
        host.start()


def test_failing_message_goes_to_poison_after_exactly_max_dequeue_count(start_host, azurite):
    conn = azurite.connection_string
    host, env = start_host()
    send_b64(queue(conn, env["DH_FAIL_QUEUE"]), '{"n": 1}')
    poison = queue(conn, env["DH_FAIL_QUEUE"] + "-poison", create=False)
    (moved,) = wait_for(lambda: peek_all(poison))
    assert base64.b64decode(moved.content) == b'{"n": 1}'
    tries = rows(conn, env["DH_TABLE"], "fail")
    assert sorted(r["dequeue_count"] for r in tries) == [1, 2, 3]  # host.json maxDequeueCount 3
    assert not peek_all(queue(conn, env["DH_FAIL_QUEUE"]))
    assert "poison 1" in stop(host)


def test_timer_every_second_gets_a_timer_request(start_host, azurite):
    _host, env = start_host(DH_TICK_SCHEDULE="*/1 * * * * *")
    ticks = wait_for(lambda: len(r := rows(azurite.connection_string, env["DH_TABLE"], "tick")) >= 2 and r)
    for tick in ticks:
        assert tick["past_due"] is False
        assert json.loads(tick["schedule"]) == {"AdjustForDST": True}
        assert not json.loads(tick["status"])  # more than once a minute: no monitor, so no status


def test_run_on_startup_fires_once_with_monitor_status(start_host, azurite):
    _host, env = start_host(DH_TICK_STARTUP="1")
    (tick,) = wait_for(lambda: rows(azurite.connection_string, env["DH_TABLE"], "tick"))
    assert tick["past_due"] is False
    status = json.loads(tick["status"])
    assert datetime.fromisoformat(status["Next"]).strftime("%m-%d %H:%M:%S") == "01-01 00:00:00"
    time.sleep(1)
    assert len(rows(azurite.connection_string, env["DH_TABLE"], "tick")) == 1


def test_past_due_after_downtime(start_host, azurite, tmp_path):
    host, env = start_host(DH_TICK_SCHEDULE="0 0 3 * * *")  # daily at 03:00 UTC, monitor on
    status_file = tmp_path / "state" / "timers" / host.host_id / "tick" / "status"
    first = wait_for(lambda: status_file.exists() and json.loads(status_file.read_text()))
    assert first["Last"] == "0001-01-01T00:00:00"
    stop(host)
    assert not rows(azurite.connection_string, env["DH_TABLE"], "tick")
    # the host was down for two days: the recorded status is what it wrote back then
    next_due = datetime.fromisoformat(first["Next"]) - timedelta(days=2)
    shifted = {"Last": (next_due - timedelta(days=1)).isoformat(), "Next": next_due.isoformat(),
               "LastUpdated": (next_due - timedelta(days=1)).isoformat()}
    status_file.write_text(json.dumps(shifted))
    start_host(**{k: env[k] for k in ("DH_TICK_SCHEDULE", "DH_TABLE")})
    (tick,) = wait_for(lambda: rows(azurite.connection_string, env["DH_TABLE"], "tick"))
    assert tick["past_due"] is True
    assert json.loads(tick["status"])["Next"] == shifted["Next"]
    after = wait_for(lambda: (s := json.loads(status_file.read_text()))["Last"] != shifted["Last"] and s)
    assert datetime.fromisoformat(after["Next"]) == datetime.fromisoformat(first["Next"])


def test_admin_endpoint_runs_timer_and_queue_functions(start_host, azurite):
    host, env = start_host()
    headers = {"x-functions-key": MASTER}
    assert requests.post(f"{host.base_url}/admin/functions/tick", json={"input": ""}, headers=headers,
                         timeout=10).status_code == 202
    assert requests.post(f"{host.base_url}/admin/functions/work", json={"input": '{"item": 5}'}, headers=headers,
                         timeout=10).status_code == 202
    assert requests.post(f"{host.base_url}/admin/functions/tick", timeout=10).status_code == 401
    (tick,) = wait_for(lambda: rows(azurite.connection_string, env["DH_TABLE"], "tick"))
    assert tick["past_due"] is False
    (work,) = wait_for(lambda: rows(azurite.connection_string, env["DH_TABLE"], "work"))
    assert work["item"] == 5


def test_graceful_shutdown_lets_the_running_function_finish(start_host, azurite):
    conn = azurite.connection_string
    host, env = start_host(DH_SLOW_SECONDS="2")
    send_b64(queue(conn, env["DH_SLOW_QUEUE"]), "{}")
    wait_for(lambda: rows(conn, env["DH_TABLE"], "slow"))
    summary = stop(host)
    assert sorted(r["RowKey"].split("-")[0] for r in rows(conn, env["DH_TABLE"], "slow")) == ["done", "started"]
    assert "delete 1" in summary and "0 unfinished" in summary
    assert not peek_all(queue(conn, env["DH_SLOW_QUEUE"])) and not queue(conn, env["DH_SLOW_QUEUE"]).receive_message()


def test_unfinished_message_reappears_after_its_visibility_timeout(start_host, azurite):
    conn = azurite.connection_string
    host, env = start_host(DH_SLOW_SECONDS="3", grace_seconds=0.5, receive_visibility=2)
    send_b64(queue(conn, env["DH_SLOW_QUEUE"]), '{"keep": true}')
    wait_for(lambda: rows(conn, env["DH_TABLE"], "slow"))
    assert "1 unfinished" in stop(host)
    message = wait_for(lambda: queue(conn, env["DH_SLOW_QUEUE"]).receive_message(), timeout=20)
    assert base64.b64decode(message.content) == b'{"keep": true}'


def test_visibility_is_renewed_while_a_long_function_runs(start_host, azurite):
    conn = azurite.connection_string
    # receive visibility 2 s, function 3 s: without renewal the message would be delivered a second time
    host, env = start_host(DH_SLOW_SECONDS="3", receive_visibility=2)
    send_b64(queue(conn, env["DH_SLOW_QUEUE"]), "{}")
    wait_for(lambda: any(r["RowKey"].startswith("done") for r in rows(conn, env["DH_TABLE"], "slow")))
    time.sleep(0.5)
    assert sorted(r["RowKey"].split("-")[0] for r in rows(conn, env["DH_TABLE"], "slow")) == ["done", "started"]
    assert "delete 1" in stop(host)


def test_message_already_over_the_limit_goes_to_poison_without_a_call(azurite, start_host):
    conn = azurite.connection_string
    env = names()
    source = queue(conn, env["DH_FAIL_QUEUE"])
    send_b64(source, "crashed a host before")
    for _ in range(3):  # three earlier deliveries that never completed (host.json maxDequeueCount 3)
        message = source.receive_message(visibility_timeout=30)
        source.update_message(message, pop_receipt=message.pop_receipt, visibility_timeout=0)
    start_host(**env)
    (moved,) = wait_for(lambda: peek_all(queue(conn, env["DH_FAIL_QUEUE"] + "-poison", create=False)))
    assert base64.b64decode(moved.content) == b"crashed a host before"
    assert rows(conn, env["DH_TABLE"], "fail") == []  # the function was never called


def test_disabled_functions_do_not_trigger_but_run_for_the_master_key(start_host, azurite):
    """AzureWebJobs.<name>.Disabled: no queue listener, HTTP 404 for other keys, admin runs still work."""
    host, env = start_host(**{"AzureWebJobs.work.Disabled": "true", "AzureWebJobs.echo.Disabled": "True"})
    work_queue = queue(azurite.connection_string, env["DH_WORK_QUEUE"])
    send_b64(work_queue, json.dumps({"item": 1}))
    assert requests.get(f"{host.base_url}/api/echo/abc", timeout=10).status_code == 404
    assert requests.get(f"{host.base_url}/api/echo/abc", headers={"x-functions-key": FUNCTION_KEY},
                        timeout=10).status_code == 404
    assert requests.get(f"{host.base_url}/api/echo/abc", headers={"x-functions-key": MASTER},
                        timeout=10).status_code == 200
    assert requests.post(f"{host.base_url}/admin/functions/work", json={"input": '{"item": 2}'},
                         headers={"x-functions-key": MASTER}, timeout=10).status_code == 202
    wait_for(lambda: rows(azurite.connection_string, env["DH_TABLE"], "work"))
    time.sleep(2.5)  # longer than the Development maxPollingInterval (2 s): an enabled listener would have run
    assert [r["item"] for r in rows(azurite.connection_string, env["DH_TABLE"], "work")] == [2]
    assert len(peek_all(work_queue)) == 1
