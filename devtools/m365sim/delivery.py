"""The delivery engine: queued notifications → ``changeNotificationCollection`` POSTs
(change-notifications-delivery-webhooks.md).

One scheduler thread pops due items, groups them per URL (mixed subscriptions in one ``value[]``, at most
``notify_batch_max``), and hands each POST to a bounded pool of ``notify_workers`` threads. A 2xx within the
allowance (3 s first try, 10 s on retries) is delivered; anything else is retried with exponential backoff until
``notify_retry_horizon_s`` (4 h, emulated) has passed since the notification was made, then discarded.
Every POST is written to a bounded delivery log.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from .handshake import session
from .substore import graph_time


@dataclass
class Item:
    body: dict  # one changeNotification (or lifecycle notification)
    url: str
    sub_id: str
    kind: str = "change"  # change | lifecycle
    stamp: int | None = None  # the change-log stamp it came from
    change_at: str | None = None
    check_sub: bool = True  # False for injected notifications of unknown subscriptions
    tags: list[str] = field(default_factory=list)  # faults and rules applied to it
    created: float = field(default_factory=time.monotonic)
    attempts: int = 0

    def log_json(self) -> dict:
        b = self.body
        return {
            "subscriptionId": b.get("subscriptionId"),
            "changeType": b.get("changeType"),
            "lifecycleEvent": b.get("lifecycleEvent"),
            "resourceId": (b.get("resourceData") or {}).get("id"),
            "clientState": b.get("clientState"),
            "stamp": self.stamp,
            "changeAt": self.change_at,
            "tags": list(self.tags),
        }


class DeliveryEngine:
    def __init__(self, hub) -> None:
        self.hub = hub
        self.cv = threading.Condition()
        self.heap: list[tuple[float, int, Item]] = []
        self.seq = itertools.count()
        self.inflight = 0
        self.log: deque = deque(maxlen=hub.settings.notify_log_capacity)
        self.log_seq = itertools.count(1)
        self.pool: ThreadPoolExecutor | None = None
        self.thread: threading.Thread | None = None
        self.stopping = False

    # --- queue ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.stopping = False
        workers = max(1, self.hub.settings.notify_workers)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify")
        self.thread = threading.Thread(target=self._loop, name="m365sim-delivery", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        with self.cv:
            self.stopping = True
            self.cv.notify_all()
        if self.pool:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def schedule(self, item: Item, delay_s: float = 0.0) -> None:
        with self.cv:
            heapq.heappush(self.heap, (time.monotonic() + delay_s, next(self.seq), item))
            self.cv.notify_all()

    def pending(self) -> int:
        with self.cv:
            return len(self.heap) + self.inflight

    def wait_idle(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self.cv:
            while self.heap or self.inflight:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(min(left, 0.1))
        return True

    def due_now(self) -> None:
        """Make every queued item due immediately (flush ``now``)."""
        with self.cv:
            now = time.monotonic()
            self.heap = [(min(d, now), s, i) for d, s, i in self.heap]
            heapq.heapify(self.heap)
            self.cv.notify_all()

    def clear(self) -> None:
        with self.cv:
            self.heap.clear()
            self.log = deque(maxlen=self.hub.settings.notify_log_capacity)
            self.cv.notify_all()

    # --- scheduler -----------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self.cv:
                if self.stopping:
                    return
                workers = max(1, self.hub.settings.notify_workers)
                now = time.monotonic()
                if not self.heap or self.heap[0][0] > now or self.inflight >= workers:
                    wait = min(self.heap[0][0] - now, 0.2) if self.heap else 0.2
                    self.cv.wait(max(wait, 0.005))
                    continue
                ready: list[Item] = []
                while self.heap and self.heap[0][0] <= now:
                    ready.append(heapq.heappop(self.heap)[2])
                ready.extend(self._coalesce({it.url for it in ready}, now))
                batches = self._batches(ready)
                free = workers - self.inflight
                for _url, items in batches[free:]:  # over the worker bound: back in the queue, due now
                    for it in items:
                        heapq.heappush(self.heap, (now, next(self.seq), it))
                batches = batches[:free]
                self.inflight += len(batches)
            for url, items in batches:
                self.pool.submit(self._post, url, items)

    def _coalesce(self, urls: set[str], now: float) -> list[Item]:
        """Items for the same URLs due within one batch window join this POST (in due order), so a mutation's
        records, or items released together, are not split by microseconds. Called with ``cv`` held."""
        window = self.hub.settings.notify_batch_window_ms / 1000
        take = [e for e in self.heap if e[2].url in urls and e[0] <= now + window]
        if not take:
            return []
        ids = {id(e) for e in take}
        self.heap = [e for e in self.heap if id(e) not in ids]
        heapq.heapify(self.heap)
        return [e[2] for e in sorted(take, key=lambda e: (e[0], e[1]))]

    def _batches(self, items: list[Item]) -> list[tuple[str, list[Item]]]:
        size = max(1, self.hub.settings.notify_batch_max)
        by_url: dict[str, list[Item]] = {}
        for it in items:
            by_url.setdefault(it.url, []).append(it)
        return [(url, its[i : i + size]) for url, its in by_url.items() for i in range(0, len(its), size)]

    # --- one POST --------------------------------------------------------------------------------------------
    def _post(self, url: str, items: list[Item]) -> None:
        try:
            items = self.hub.admit_for_send(items)
            if items:
                self._send(url, items)
        except Exception:  # never lose the worker slot
            import logging

            logging.getLogger(__name__).exception("m365sim: notification POST to %s failed", url)
        finally:
            with self.cv:
                self.inflight -= 1
                self.cv.notify_all()

    def _send(self, url: str, items: list[Item]) -> None:
        s = self.hub.settings
        retry = any(it.attempts for it in items)
        timeout = s.notify_retry_timeout_s if retry else s.notify_answer_timeout_s
        payload = json.dumps({"value": [it.body for it in items]})
        sent_at = self.hub.now()
        t0 = time.monotonic()
        status, outcome = None, "error"
        try:
            r = session(s.notify_verify_tls).post(
                url, data=payload, headers={"Content-Type": "application/json; charset=utf-8"}, timeout=timeout
            )
            status = r.status_code
        except requests.Timeout:
            outcome = "timeout"
        except requests.RequestException:
            outcome = "error"
        latency = time.monotonic() - t0
        if status is not None:
            outcome = (
                "delivered"
                if 200 <= status < 300 and latency <= timeout
                else ("timeout" if latency > timeout else "failed")
            )
        timed_out = outcome == "timeout"
        attempt = 1 + max(it.attempts for it in items)
        self.hub.endpoint_response(
            url,
            slow=latency > s.notify_answer_timeout_s or timed_out,
            very_slow=latency > s.notify_retry_timeout_s or (timed_out and timeout >= s.notify_retry_timeout_s),
        )
        with self.cv:
            self.log.append(
                {
                    "seq": next(self.log_seq),
                    "url": url,
                    "sentAt": graph_time(sent_at),
                    "ackAt": graph_time(self.hub.now()) if status is not None else None,
                    "attempt": attempt,
                    "status": status,
                    "outcome": outcome,
                    "latencyMs": round(latency * 1000, 1),
                    "items": [it.log_json() for it in items],
                    "retryInS": None if outcome == "delivered" else self.backoff_emulated(attempt),
                }
            )
        self.hub.after_send(items, delivered=outcome == "delivered")

    def backoff_emulated(self, attempts: int) -> float:
        """Emulated seconds to wait after the ``attempts``-th failed attempt: base, 2x base, 4x base, ... capped."""
        s = self.hub.settings
        return min(s.notify_backoff_base_s * 2 ** max(0, attempts - 1), s.notify_backoff_max_s)

    def backoff(self, attempts: int) -> float:
        return self.backoff_emulated(attempts) / max(self.hub.settings.notify_time_scale, 1e-9)

    def entries(self, since: int = 0, limit: int = 1000) -> list[dict]:
        with self.cv:
            return [e for e in self.log if e["seq"] > since][:limit]
