"""Queue output bindings, written by the host after the function returns, as the real host does.

The function gets one ``Out`` per binding (``func.Out``: ``set``/``get``); after it returns without an error
the host writes what was set: a str, bytes, a ``func.QueueMessage``, or a list of them (the Python worker's
queue output converter), one message each, encoded per host.json ``messageEncoding``. The queue is created if
missing (the binding does so on first write). Only then is the invocation complete: an HTTP function's answer
is sent after its messages are stored, and a failed write fails the invocation (HTTP 500). A write wakes the
listener of that queue in this host at once (the host's SharedQueueWatcher), and only that one.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

import azure.functions as func

from devtools.devhost import settings
from devtools.devhost.app_loader import FunctionSpec
from devtools.devhost.queue_client import LeanQueueClient


class Out:
    """The value of one output binding, as the worker hands it to the function."""

    def __init__(self) -> None:
        self._value = None

    def set(self, value) -> None:
        self._value = value

    def get(self):
        return self._value


def _texts(value) -> list[str]:
    items = value if isinstance(value, list) else [value]
    texts = []
    for item in items:
        if isinstance(item, func.QueueMessage):
            item = item.get_body()
        if isinstance(item, bytes | bytearray):
            item = bytes(item).decode("utf-8")
        if not isinstance(item, str):
            raise TypeError(f"a queue output binding takes str, bytes, QueueMessage or a list of them, "
                            f"not {type(item).__name__}")
        texts.append(item)
    return texts


class QueueOutputs:
    def __init__(self, message_encoding: str, notify: Callable[[str], None]) -> None:
        self._encoding, self._notify = message_encoding, notify
        self._clients: dict[str, LeanQueueClient] = {}
        self._lock = threading.Lock()

    def check(self, specs: list[FunctionSpec]) -> None:
        """Resolve every binding's queue and connection at start, so a missing setting stops the host."""
        for spec in specs:
            for binding in spec.outputs:
                self._target(binding)

    def write(self, spec: FunctionSpec, values: dict[str, object]) -> None:
        for binding in spec.outputs:
            value = values.get(binding["name"])
            if value is None:
                continue
            texts = [self._encode(t) for t in _texts(value)]
            if not texts:
                continue
            queue, client = self._target(binding)
            client.put_messages(queue, texts)
            self._notify(queue)

    def _encode(self, text: str) -> str:
        return text if self._encoding == "none" else base64.b64encode(text.encode("utf-8")).decode("ascii")

    def _target(self, binding: dict) -> tuple[str, LeanQueueClient]:
        queue = settings.resolve_setting_references(str(binding["queueName"]))
        conn = settings.storage_connection_string(binding.get("connection"))
        with self._lock:
            client = self._clients.get(conn)
            if client is None:
                client = self._clients[conn] = LeanQueueClient(conn)
        return queue, client
