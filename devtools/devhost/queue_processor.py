"""One queue message from receipt to completion, as the WebJobs QueueProcessor does it.

Before the call: dequeue count > maxDequeueCount → straight to ``<queue>-poison``, no call.
While it runs: visibility renewed every half of the receive timeout (sooner after a 5xx).
After: success → delete; failure at dequeue count >= max → copy to poison (created if
missing) and delete; other failures → released with host.json visibilityTimeout. With no
valid poison queue name a failed last try is left hidden (no tight retry loop).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import logging
import threading

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage

log = logging.getLogger("devhost")
POISON_SUFFIX = "-poison"


class Outcome(enum.Enum):
    DELETE = "delete"
    POISON = "poison"
    RELEASE = "release"
    LEAVE_HIDDEN = "leave_hidden"


def poison_queue_name(queue: str) -> str | None:
    """``<queue>-poison``, or None when the queue is a poison queue or the name would be too long."""
    if queue.endswith(POISON_SUFFIX) or len(queue) + len(POISON_SUFFIX) > 63:
        return None
    return queue + POISON_SUFFIX


def poison_before_call(dequeue_count: int, max_dequeue_count: int) -> bool:
    return dequeue_count > max_dequeue_count


def outcome_after_call(succeeded: bool, dequeue_count: int, max_dequeue_count: int, queue: str) -> Outcome:
    if succeeded:
        return Outcome.DELETE
    if dequeue_count >= max_dequeue_count:
        return Outcome.POISON if poison_queue_name(queue) else Outcome.LEAVE_HIDDEN
    return Outcome.RELEASE


def decode_body(content: str | bytes, encoding: str) -> bytes:
    raw = content if isinstance(content, bytes) else content.encode("utf-8")
    if encoding == "none":
        return raw
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("message is not valid base64 (host.json messageEncoding is base64: send base64 "
                         "text, e.g. azure-storage-queue's TextBase64EncodePolicy)") from exc


def to_queue_message(msg, body: bytes) -> QueueMessage:
    return QueueMessage(id=msg.id, body=body, dequeue_count=msg.dequeue_count, insertion_time=msg.inserted_on,
                        expiration_time=msg.expires_on, time_next_visible=msg.next_visible_on,
                        pop_receipt=msg.pop_receipt)


class VisibilityRenewer:
    """Keeps a running message hidden: renews at half the timeout; after a 5xx retries at half
    the interval (not below a minute, or the half timeout if shorter); stops on 404/412."""

    def __init__(self, client, msg, timeout: float) -> None:
        self.client, self.timeout = client, timeout
        self.message_id, self.pop_receipt = msg.id, msg.pop_receipt
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"renew-{msg.id[:8]}", daemon=True)

    def __enter__(self) -> VisibilityRenewer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        normal = self.timeout / 2
        floor = min(60.0, normal)
        interval = normal
        while not self._stop.wait(interval):
            try:
                receipt = self.client.update_message(self.message_id, self.pop_receipt,
                                                     visibility_timeout=round(self.timeout))
                self.pop_receipt = receipt.pop_receipt
                interval = normal
            except (ResourceNotFoundError, HttpResponseError) as exc:
                status = getattr(exc, "status_code", None) or 0
                if isinstance(exc, ResourceNotFoundError) or status in (404, 412):
                    log.warning("message %s: visibility renewal stopped (%s)", self.message_id, status)
                    return
                interval = max(interval / 2, floor)
            except Exception as exc:  # connection trouble: like a 5xx
                log.warning("message %s: visibility renewal failed: %s", self.message_id, exc)
                interval = max(interval / 2, floor)


class QueueProcessor:
    def __init__(self, service, queue: str, client, options, receive_visibility: float, lean=None) -> None:
        self.service, self.queue, self.client = service, queue, client
        self.lean = lean  # LeanQueueClient for the per-message delete; the SDK client otherwise
        self.options, self.receive_visibility = options, receive_visibility
        self.counts = {outcome: 0 for outcome in Outcome}

    def process(self, msg, run, completing: threading.Event) -> Outcome:
        """``run(QueueMessage)`` calls the function; ``completing`` cleared = grace expired, skip completion."""
        if poison_before_call(msg.dequeue_count, self.options.max_dequeue_count):
            self._to_poison(msg, msg.pop_receipt)
            self.counts[Outcome.POISON] += 1
            return Outcome.POISON
        renewer = VisibilityRenewer(self.client, msg, self.receive_visibility)
        succeeded = False
        with renewer:
            try:
                run(to_queue_message(msg, decode_body(msg.content, self.options.message_encoding)))
                succeeded = True
            except Exception as exc:
                if isinstance(exc, ValueError) and "base64" in str(exc):
                    log.error("queue %s message %s: %s", self.queue, msg.id, exc)
        if not completing.is_set():
            return Outcome.LEAVE_HIDDEN  # shutdown grace over: it reappears after its visibility timeout
        outcome = outcome_after_call(succeeded, msg.dequeue_count, self.options.max_dequeue_count, self.queue)
        receipt = renewer.pop_receipt
        if outcome is Outcome.DELETE:
            with contextlib.suppress(ResourceNotFoundError):
                if self.lean is not None:
                    self.lean.delete(self.queue, msg.id, receipt)
                else:
                    self.client.delete_message(msg.id, receipt)
        elif outcome is Outcome.POISON:
            self._to_poison(msg, receipt)
        elif outcome is Outcome.RELEASE:
            with contextlib.suppress(ResourceNotFoundError):
                self.client.update_message(msg.id, receipt, visibility_timeout=int(self.options.visibility_timeout))
        self.counts[outcome] += 1
        return outcome

    def _to_poison(self, msg, receipt: str) -> None:
        name = poison_queue_name(self.queue)
        if name is None:
            return
        log.warning("Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
                    self.options.max_dequeue_count, name)
        poison = self.service.get_queue_client(name)
        with contextlib.suppress(ResourceExistsError):
            poison.create_queue()
        poison.send_message(msg.content)  # the body exactly as received (same encoding)
        with contextlib.suppress(ResourceNotFoundError):
            self.client.delete_message(msg.id, receipt)
