"""The dev host's front door as the real host's: keys before Python (named keys from the host's file key store,
changed while running), the request body limit on Content-Length and while reading a chunked body, and queue
output bindings written by the host."""

from __future__ import annotations

import http.client
import json
import socket

import pytest
import requests

from tests.integration.devhost_helpers import FUNCTION_KEY, rows, started_hosts, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def start_host(azurite, tmp_path):
    with started_hosts(azurite.connection_string, tmp_path / "state") as start:
        yield start


def _write_keys(folder, function: str, *values: str) -> None:
    folder.mkdir(exist_ok=True)
    keys = [{"name": f"key-{i}", "value": v, "encrypted": False} for i, v in enumerate(values)]
    (folder / f"{function}.json").write_text(json.dumps({"keys": keys}))


def _raw(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes, return the status line; the socket times out (failing the test) if the host waits for a body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        return sock.recv(4096).split(b"\r\n", 1)[0]


class TestKeys:
    def test_a_keyless_request_is_refused_before_the_body_is_read_and_before_any_python(self, start_host):
        host, _ = start_host()
        before = dict(host.invoker.counts)
        # 50 MB announced, nothing sent: the answer comes without waiting for the body.
        status = _raw(host.port, b"POST /api/items/1?validationToken=x HTTP/1.1\r\nHost: h\r\n"
                                 b"Content-Length: 50000000\r\n\r\n")
        assert status == b"HTTP/1.1 401 UNAUTHORIZED"
        assert host.invoker.counts == before

    def test_named_keys_from_the_secrets_folder_work_side_by_side_and_change_while_running(self, start_host,
                                                                                          tmp_path):
        secrets = tmp_path / "secrets"
        _write_keys(secrets, "enqueue", "old-key", "new-key")
        host, _ = start_host(AzureWebJobsSecretStorageType="files", FUNCTIONS_SECRETS_PATH=str(secrets))
        url = f"{host.base_url}/api/items/1"
        assert [requests.post(f"{url}?code={k}", json={}, timeout=10).status_code
                for k in ("old-key", "new-key", "other")] == [202, 202, 401]
        assert requests.get(f"{host.base_url}/api/admin-only?code=new-key", timeout=10).status_code == 401
        _write_keys(secrets, "enqueue", "new-key")  # the old key removed: rotation finished
        wait_for(lambda: requests.post(f"{url}?code=old-key", json={}, timeout=10).status_code == 401)
        assert requests.post(f"{url}?code=new-key", json={}, timeout=10).status_code == 202

    def test_the_host_secrets_file_holds_host_keys_and_the_master_key(self, start_host, tmp_path):
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "host.json").write_text(json.dumps({"masterKey": {"name": "master", "value": "file-master"},
                                                       "functionKeys": [{"name": "default", "value": "file-host"}]}))
        host, _ = start_host(AzureWebJobsSecretStorageType="files", FUNCTIONS_SECRETS_PATH=str(secrets))
        assert requests.post(f"{host.base_url}/api/items/1?code=file-host", json={}, timeout=10).status_code == 202
        assert requests.get(f"{host.base_url}/api/admin-only?code=file-master", timeout=10).text == "admin ok"


class TestBodyLimit:
    def test_content_length_over_the_limit_is_413_without_reading_the_body(self, start_host):
        host, _ = start_host(FUNCTIONS_REQUEST_BODY_SIZE_LIMIT="1000")
        status = _raw(host.port, b"POST /api/echo/Ada HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n")
        assert status == b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE"

    def test_a_chunked_body_is_cut_off_at_the_limit_while_it_is_read(self, start_host):
        host, _ = start_host(FUNCTIONS_REQUEST_BODY_SIZE_LIMIT="1000")
        before = dict(host.invoker.counts)
        chunk = b"x" * 600
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
        status = _raw(host.port, b"POST /api/echo/Ada HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", body)
        assert status == b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE"
        assert host.invoker.counts == before
        small = requests.post(f"{host.base_url}/api/echo/Ada", data=iter([b"a" * 300, b"b" * 300]), timeout=10)
        assert small.status_code == 200 and small.json()["body"] == "a" * 300 + "b" * 300  # chunked, under it

    def test_keep_alive_survives_a_refused_request(self, start_host):
        host, _ = start_host()
        conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=10)
        for _ in range(3):
            conn.request("POST", "/api/items/1", body=b'{"note": "n"}')  # no key: refused, body unread
            response = conn.getresponse()
            response.read()
            assert response.status == 401
            conn.request("POST", "/api/echo/Ada", body=b"after")
            response = conn.getresponse()
            assert json.loads(response.read())["body"] == "after"


class TestQueueOutputBinding:
    def test_the_host_writes_the_bound_messages_and_its_listener_takes_them(self, start_host, azurite):
        host, env = start_host()
        reply = requests.post(f"{host.base_url}/api/relay/9?code={FUNCTION_KEY}", json={"note": "bound"}, timeout=10)
        assert reply.status_code == 202
        (row,) = wait_for(lambda: rows(azurite.connection_string, env["DH_TABLE"], "work"))
        assert (row["item"], row["note"], row["dequeue_count"]) == (9, "bound", 1)

    def test_a_failed_write_fails_the_invocation_with_500(self, start_host):
        host, _ = start_host(AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                             "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                             "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
                             "TableEndpoint=http://127.0.0.1:9/devstoreaccount1")
        reply = requests.post(f"{host.base_url}/api/relay/9?code={FUNCTION_KEY}", json={}, timeout=30)
        assert reply.status_code == 500
        assert host.invoker.counts["failed"] >= 1
