"""The repository's webhooks on the dev host, keyed as on Azure: keyless handshakes and notifications are refused
by the host (no Python runs, nothing is read or queued), a keyed handshake echoes any token byte for byte, and a
key rotation through the host's file key store keeps notifications flowing without a single refused POST."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.demo.stack import write_function_keys
from devtools.devhost import DevHostProcess
from shared.adapters.tables import AzureTableStore
from shared.models import SubscriptionRecord
from shared.sync.subscription_directory import SubscriptionDirectory, hash_client_state
from tests.integration.devhost_helpers import peek_all, queue, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
HOSTILE_TOKENS = ["Validation: Testing client application reachability for subscription Request-Id: 1",
                  "<script>alert(1)</script>", "a+b c&d=e?f#g%2F%", "ünï©ødé ✓ 日本", "' OR 1=1 --\"\\"]


@pytest.fixture
def host(azurite, tmp_path):
    secrets = tmp_path / "secrets"
    write_function_keys(secrets, "graph_notifications", {"graph-1": "old-n-key"})
    write_function_keys(secrets, "graph_lifecycle", {"graph-1": "old-l-key"})
    env = {"AzureWebJobsStorage": azurite.connection_string, "ROOMCAL_ENVIRONMENT": "development",
           "ROOMCAL_HASH_KEY": "k" * 32, "DEVHOST_FUNCTION_KEY": "admin-api-key", "DEVHOST_MASTER_KEY": "master",
           "AzureWebJobsSecretStorageType": "files", "FUNCTIONS_SECRETS_PATH": str(secrets),
           "ROOMCAL_NOTIFICATIONS_KEY": "old-n-key", "ROOMCAL_LIFECYCLE_KEY": "old-l-key",
           # hints stay in the queue, to be counted
           "AzureWebJobs.room_changes.Disabled": "true", "AzureWebJobs.subscription_maintenance.Disabled": "true"}
    with DevHostProcess(env=env, args=["--state-dir", str(tmp_path / "state")]) as process:
        process.secrets = secrets
        yield process


def _subscription(conn: str, room: str) -> tuple[str, str]:
    sub_id, state = str(uuid.uuid4()), uuid.uuid4().hex
    SubscriptionDirectory(AzureTableStore(conn)).save(SubscriptionRecord(
        id=sub_id, tenant_id=TENANT, room_email=room, client_state_hash=hash_client_state(state),
        expires_at=datetime.now(UTC) + timedelta(days=3)))
    return sub_id, state


def _notification(sub_id: str, state: str) -> bytes:
    return json.dumps({"value": [{"subscriptionId": sub_id, "clientState": state, "tenantId": TENANT,
                                  "changeType": "updated"}]}).encode()


def _depth(conn: str, name: str) -> int:
    return queue(conn, name).get_queue_properties().approximate_message_count


def test_keyless_requests_are_refused_by_the_host_and_cost_nothing(host, azurite):
    sub_id, state = _subscription(azurite.connection_string, "room1@contoso.com")
    before = {name: _depth(azurite.connection_string, name) for name in ("room-changes", "subscription-maintenance")}
    for path in ("notifications", "lifecycle"):
        url = f"{host.base_url}/api/{path}"
        assert requests.post(url, params={"validationToken": "Validation: hi"}, timeout=10).status_code == 401
        assert requests.post(url, data=_notification(sub_id, state), timeout=10).status_code == 401
        assert requests.post(url, params={"code": "admin-api-key-guess"}, data=b"{}", timeout=10).status_code == 401
    # the Azurite is shared with other tests: nothing added, whatever was there
    assert {name: _depth(azurite.connection_string, name) for name in before} == before
    assert "Executing 'graph_notifications'" not in host.output and "Executing 'graph_lifecycle'" not in host.output


@pytest.mark.parametrize("token", HOSTILE_TOKENS)
def test_a_keyed_handshake_echoes_the_token_byte_for_byte(host, token):
    for path, key in (("notifications", "old-n-key"), ("lifecycle", "old-l-key")):
        reply = requests.post(f"{host.base_url}/api/{path}", params={"code": key, "validationToken": token},
                              data=b"", headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=10)
        assert reply.status_code == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        assert reply.content == token.encode("utf-8")


def test_rotating_the_key_keeps_every_notification_flowing(host, azurite):
    sub_id, state = _subscription(azurite.connection_string, "room2@contoso.com")
    key, statuses, stop = ["old-n-key"], [], threading.Event()

    def graph():  # posts with whatever key its subscription's URL holds right now
        with requests.Session() as session:
            while not stop.is_set():
                reply = session.post(f"{host.base_url}/api/notifications?code={key[0]}",
                                     data=_notification(sub_id, state), timeout=10)
                statuses.append(reply.status_code)
                time.sleep(0.05)

    sender = threading.Thread(target=graph, daemon=True)
    sender.start()
    try:
        wait_for(lambda: len(statuses) >= 5)
        write_function_keys(host.secrets, "graph_notifications", {"graph-1": "old-n-key", "graph-2": "new-n-key"})
        wait_for(lambda: requests.post(f"{host.base_url}/api/notifications?code=new-n-key",
                                       params={"validationToken": "t"}, timeout=10).status_code == 200)
        seen = len(statuses)
        key[0] = "new-n-key"  # the subscription was moved to the new URL (test_webhook_keys.py: the PATCH)
        wait_for(lambda: len(statuses) >= seen + 5)
        write_function_keys(host.secrets, "graph_notifications", {"graph-2": "new-n-key"})
        wait_for(lambda: requests.post(f"{host.base_url}/api/notifications?code=old-n-key",
                                       params={"validationToken": "t"}, timeout=10).status_code == 401)
        seen = len(statuses)
        wait_for(lambda: len(statuses) >= seen + 5)
    finally:
        stop.set()
        sender.join(10)
    assert statuses and set(statuses) == {202}, statuses
    assert peek_all(queue(azurite.connection_string, "room-changes", create=False))  # the hints were stored
