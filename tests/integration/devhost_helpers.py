"""Helpers for the dev host integration tests: start the fixture app, read what it wrote."""

from __future__ import annotations

import base64
import contextlib
import time
import uuid
from pathlib import Path

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

APP_DIR = Path(__file__).parent / "devhost_app"
MASTER, FUNCTION_KEY = "test-master-key", "test-function-key"


@contextlib.contextmanager
def started_hosts(connection_string: str, state_dir: Path):
    """``start(**env)`` runs the fixture app in a DevHost (env: settings, plus the DevHost options
    ``grace_seconds`` and ``receive_visibility``) and returns it with its settings; every host is stopped after."""
    from devtools.devhost import DevHost

    hosts = []

    def start(**env):
        settings = {**names(), "AzureWebJobsStorage": connection_string, "DEVHOST_MASTER_KEY": MASTER,
                    "DEVHOST_FUNCTION_KEY": FUNCTION_KEY, **env}
        options = {k: settings.pop(k) for k in ("grace_seconds", "receive_visibility") if k in settings}
        host = DevHost(str(APP_DIR / "function_app.py"), port=0, env_overrides=settings, state_dir=state_dir,
                       **options).start()
        hosts.append(host)
        return host, settings

    try:
        yield start
    finally:
        for host in hosts:
            host.stop()  # no-op for hosts a test already stopped


def names() -> dict[str, str]:
    uid = uuid.uuid4().hex[:10]
    return {"DH_WORK_QUEUE": f"work-{uid}", "DH_FAIL_QUEUE": f"fail-{uid}", "DH_SLOW_QUEUE": f"slow-{uid}",
            "DH_TABLE": f"dh{uid}"}


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def rows(conn: str, table: str, partition: str) -> list[dict]:
    client = TableServiceClient.from_connection_string(conn).get_table_client(table)
    try:
        return list(client.query_entities("PartitionKey eq @p", parameters={"p": partition}))
    except ResourceNotFoundError:
        return []


def queue(conn: str, name: str, create: bool = True):
    client = QueueServiceClient.from_connection_string(conn).get_queue_client(name)
    if create:
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
    return client


def send_b64(client, text: str) -> None:
    client.send_message(base64.b64encode(text.encode()).decode())


def peek_all(client) -> list:
    try:
        return client.peek_messages(max_messages=32)
    except ResourceNotFoundError:
        return []
