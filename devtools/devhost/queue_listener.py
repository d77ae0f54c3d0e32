"""Poll one queue for one queue-triggered function (WebJobs QueueListener semantics).

Fetch ``batchSize`` messages with a 10-minute visibility timeout; fetch again, without
sleeping, once in-flight messages drop to ``newBatchThreshold``; after an empty poll or a
storage error (queue missing, 409, 5xx, unreachable) sleep per the randomized exponential
back-off up to maxPollingInterval. The queue is not created: the listener waits for it to
exist, like the host. ``notify()`` cuts a back-off sleep short.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.queue import QueueServiceClient

from devtools.devhost.app_loader import FunctionSpec
from devtools.devhost.backoff import RandomizedExponentialBackoff
from devtools.devhost.host_json import QueueOptions
from devtools.devhost.queue_client import LeanQueueClient
from devtools.devhost.queue_processor import QueueProcessor

log = logging.getLogger("devhost")
RECEIVE_VISIBILITY = 600.0  # seconds; hard-coded in the host


class QueueListener:
    def __init__(self, spec: FunctionSpec, queue: str, connection_string: str, options: QueueOptions,
                 run, receive_visibility: float = RECEIVE_VISIBILITY) -> None:
        self.spec, self.queue, self.options, self.run = spec, queue, options, run
        self.service = QueueServiceClient.from_connection_string(connection_string)
        self.client = self.service.get_queue_client(queue)
        self.lean = LeanQueueClient(connection_string)  # receive and delete: the host's per-message calls
        self.processor = QueueProcessor(self.service, queue, self.client, options, receive_visibility, self.lean)
        self.receive_visibility = receive_visibility
        self.backoff = RandomizedExponentialBackoff(options.max_polling_interval)
        self.pool = ThreadPoolExecutor(options.max_concurrency, thread_name_prefix=f"q-{spec.name}")
        self._in_flight = 0
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.completing = threading.Event()
        self.completing.set()
        self._queue_exists = False
        self._thread = threading.Thread(target=self._loop, name=f"poll-{spec.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        found_since_delay = False
        while not self._stopping.is_set():
            with self._cond:
                self._cond.wait_for(lambda: self._in_flight <= self.options.new_batch_threshold
                                    or self._stopping.is_set())
            if self._stopping.is_set():
                break
            messages = self._receive()
            if messages:
                found_since_delay = True
                for msg in messages:
                    self._submit(msg)
                continue
            delay = self.backoff.next_delay(found_since_delay)
            found_since_delay = False
            self._wake.clear()
            self._wake.wait(delay)
        log.info("queue listener for %s stopped", self.spec.name)

    def _receive(self) -> list:
        try:
            if not self._queue_exists:
                if not self.lean.exists(self.queue):
                    return []
                self._queue_exists = True
            return self.lean.receive(self.queue, self.options.batch_size, int(self.receive_visibility))
        except ResourceNotFoundError:
            self._queue_exists = False
            return []
        except AzureError as exc:
            self._queue_exists = False
            log.debug("queue %s: storage error while polling: %s", self.queue, exc)
            return []

    def _submit(self, msg) -> None:
        with self._cond:
            self._in_flight += 1
        self.pool.submit(self._process, msg)

    def _process(self, msg) -> None:
        try:
            self.processor.process(msg, lambda qm: self.run(self.spec, qm), self.completing)
        except Exception:
            log.exception("queue %s: completing message %s failed; it reappears after its visibility timeout",
                          self.queue, msg.id)
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def stop_polling(self) -> None:
        self._stopping.set()
        self._wake.set()
        with self._cond:
            self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait for in-flight messages; True if all finished (and were completed) in time."""
        with self._cond:
            done = self._cond.wait_for(lambda: self._in_flight == 0, timeout=timeout)
        if not done:
            self.completing.clear()  # unfinished ones are left to their visibility timeout
        self._thread.join(timeout=5)
        self.pool.shutdown(wait=False, cancel_futures=True)
        return done
