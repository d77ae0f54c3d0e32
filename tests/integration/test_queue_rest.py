"""The doorbells' REST queue writer against a real Azurite, and its bearer-token path against a local fake."""

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from azure.storage.queue import QueueClient

from devtools.azurite import ACCOUNT_KEY, connection_string, free_port
from shared.adapters.queue_rest import BearerToken, RestQueueWriter, doorbell_queue
from shared.adapters.queues import AzureMessageQueue
from shared.errors import Unavailable

pytestmark = pytest.mark.integration


def _queue_name() -> str:
    return "q" + uuid.uuid4().hex[:12]


def _writer(conn: str) -> RestQueueWriter:
    writer = doorbell_queue(AzureMessageQueue(conn), connection_string=conn)
    assert isinstance(writer, RestQueueWriter)
    return writer


def test_a_delayed_message_stays_invisible_then_arrives_as_the_host_reads_it(storage_connection):
    name = _queue_name()
    _writer(storage_connection).send(name, {"room": "a@b.c", "at": "2026-12-01T10:00:00+00:00"}, delay_seconds=1)
    queue = QueueClient.from_connection_string(storage_connection, name)
    assert queue.receive_message() is None  # created by the writer, and the message not visible yet
    deadline, raw = time.monotonic() + 5, None
    while raw is None and time.monotonic() < deadline:
        time.sleep(0.2)
        raw = queue.receive_message()
    assert raw is not None, "the delayed message never became visible"
    assert json.loads(base64.b64decode(raw.content)) == {"at": "2026-12-01T10:00:00+00:00", "room": "a@b.c"}


def test_an_undelayed_message_is_visible_at_once_and_a_deleted_queue_is_made_again(storage_connection):
    name, writer = _queue_name(), _writer(storage_connection)
    queue = QueueClient.from_connection_string(storage_connection, name)
    writer.send(name, {"n": 1})
    queue.delete_queue()
    writer.send(name, {"n": 2})  # Put Message answers 404: the writer creates the queue and writes again
    assert [json.loads(base64.b64decode(m.content)) for m in queue.receive_messages()] == [{"n": 2}]


def test_a_wrong_account_key_is_refused_by_storage_and_is_unavailable(azurite):
    wrong = base64.b64encode(b"not the account key" * 3).decode()
    conn = azurite.connection_string.replace(ACCOUNT_KEY, wrong)
    with pytest.raises(Unavailable, match="403"):
        _writer(conn).send(_queue_name(), {"n": 1})


def test_unreachable_storage_is_unavailable_within_the_deadline():
    port = free_port()
    writer = _writer(connection_string(port, port, port))
    started = time.monotonic()
    with pytest.raises(Unavailable, match="unreachable"):
        writer.send("hints", {"n": 1}, delay_seconds=1)
    assert time.monotonic() - started < 3  # Graph's 3 s: one attempt, no SDK back-off


def test_connection_strings_it_cannot_serve_keep_the_sdk_adapter(storage_connection):
    fallback = AzureMessageQueue(storage_connection)
    sas = "QueueEndpoint=https://acct.queue.core.windows.net;SharedAccessSignature=sv=2021&sig=x"
    assert doorbell_queue(fallback, connection_string=sas) is fallback
    assert doorbell_queue(fallback, connection_string="UseDevelopmentStorage=true") is fallback


class _Storage(BaseHTTPRequestHandler):
    """A stand-in queue endpoint that records what it was sent and answers as Queue Storage does."""

    seen: list

    def _answer(self, status: int) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append(SimpleNamespace(verb=self.command, path=self.path, headers=dict(self.headers), body=body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self):
        self._answer(201)

    def do_POST(self):
        self._answer(201)

    def log_message(self, *args):
        pass


def _serve(**attributes):
    handler = type("Handler", (_Storage,), {"seen": [], "protocol_version": "HTTP/1.1", **attributes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", handler.seen


@pytest.fixture
def fake_storage():
    server, url, seen = _serve()
    yield url, seen
    server.shutdown()
    server.server_close()


def test_a_kept_alive_connection_the_server_closed_is_opened_again_once():
    class Closing(_Storage):
        def _answer(self, status: int) -> None:
            super()._answer(status)
            self.close_connection = True  # as a front end dropping an idle connection, without saying so

    server, url, seen = _serve()
    server.RequestHandlerClass = type("Handler", (Closing,), {"seen": seen, "protocol_version": "HTTP/1.1"})
    try:
        writer = doorbell_queue(AzureMessageQueue("UseDevelopmentStorage=true"), account_url=url,
                                credential=_Credential(lifetime=3600))
        for n in range(3):
            writer.send("hints", {"n": n})
        assert [s.verb for s in seen] == ["PUT", "POST", "POST", "POST"]
    finally:
        server.shutdown()
        server.server_close()


class _Credential:
    def __init__(self, lifetime: float) -> None:
        self.lifetime, self.calls = lifetime, []

    def get_token(self, *scopes):
        self.calls.append(scopes)
        return SimpleNamespace(token=f"token-{len(self.calls)}", expires_on=time.time() + self.lifetime)


def test_the_managed_identity_token_is_sent_as_bearer_and_fetched_once_while_valid(fake_storage):
    url, seen = fake_storage
    credential = _Credential(lifetime=3600)
    writer = doorbell_queue(AzureMessageQueue("UseDevelopmentStorage=true"), account_url=url, credential=credential)
    for n in range(3):
        writer.send("hints", {"n": n}, delay_seconds=1)
    assert credential.calls == [("https://storage.azure.com/.default",)]
    assert [s.verb for s in seen] == ["PUT", "POST", "POST", "POST"]  # Create Queue once, then the messages
    assert all(s.headers["Authorization"] == "Bearer token-1" for s in seen)
    assert all(s.headers["x-ms-version"] >= "2017-11-09" for s in seen)  # bearer needs 2017-11-09 or later
    assert seen[1].path == "/hints/messages?visibilitytimeout=1"
    assert b"<MessageText>" + base64.b64encode(b'{"n":0}') + b"</MessageText>" in seen[1].body


def test_a_token_close_to_expiry_is_renewed_before_use():
    now = [1000.0]
    credential = SimpleNamespace(calls=0)

    def get_token(*scopes):
        credential.calls += 1
        return SimpleNamespace(token=f"t{credential.calls}", expires_on=now[0] + 600)

    credential.get_token = get_token
    bearer, headers = BearerToken(credential, clock=lambda: now[0]), {}
    bearer.authorize("POST", "/q/messages", headers, {})
    now[0] += 250  # 350 s left: still used
    bearer.authorize("POST", "/q/messages", headers, {})
    assert (credential.calls, headers["Authorization"]) == (1, "Bearer t1")
    now[0] += 100  # 250 s left: inside the 5-minute margin, renewed
    bearer.authorize("POST", "/q/messages", headers, {})
    assert (credential.calls, headers["Authorization"]) == (2, "Bearer t2")


def test_a_failing_identity_is_unavailable(fake_storage):
    url, seen = fake_storage

    class Broken:
        def get_token(self, *scopes):
            raise RuntimeError("IMDS unreachable")

    writer = doorbell_queue(AzureMessageQueue("UseDevelopmentStorage=true"), account_url=url, credential=Broken())
    with pytest.raises(Unavailable, match="token"):
        writer.send("hints", {"n": 1})
    assert seen == []
