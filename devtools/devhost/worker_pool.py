"""The Python worker's thread pool: every synchronous invocation runs on one of a fixed number of threads.

The real Python worker runs sync functions on one ThreadPoolExecutor whose size is PYTHON_THREADPOOL_THREAD_COUNT,
or Python's default ``min(32, cpu_count + 4)`` when unset (Azure/azure-functions-python-worker, its threadpool
module), shared by all functions, first come first served. Before this pool the dev host ran each invocation on
the thread that received it (a connection's thread, a queue listener's 24), so under a burst dozens of threads
fought over the GIL and every request waited behind all of them: a convoy the real worker never forms.
Threads are daemons, so a function still running at the end of the grace period does not keep the process alive.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Callable

SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"


def pool_size(environ=None) -> int:
    raw = (os.environ if environ is None else environ).get(SETTING, "")
    if raw:
        try:
            size = int(raw)
        except ValueError:
            raise ValueError(f"{SETTING} must be a whole number, got {raw!r}") from None
        if size < 1:
            raise ValueError(f"{SETTING} must be at least 1, got {size}")
        return size
    return min(32, (os.cpu_count() or 1) + 4)


class WorkerPool:
    def __init__(self, size: int) -> None:
        self.size = size
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        for i in range(size):
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True).start()

    def run(self, fn: Callable[[], object]):
        """Run ``fn`` on a pool thread (in the caller's context variables); its result, or what it raised."""
        done, box = threading.Event(), {}
        self._jobs.put((contextvars.copy_context(), fn, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def close(self) -> None:
        """Idle threads end; one still running a function ends when it returns."""
        for _ in range(self.size):
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            context, fn, box, done = job
            try:
                box["value"] = context.run(fn)
            except BaseException as exc:  # handed to the caller, which logs it
                box["error"] = exc
            finally:
                done.set()
