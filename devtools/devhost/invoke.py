"""Calling a user function the way the Python worker does: the trigger value under its
argument name, an optional ``context``, ``async def`` functions on one shared event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devtools.devhost.app_loader import FunctionSpec
from devtools.devhost.logs import current_function
from devtools.devhost.queue_output import Out
from devtools.devhost.worker_pool import WorkerPool, pool_size

log = logging.getLogger("devhost")


@dataclass
class InvocationContext:
    """What ``func.Context`` exposes to a function that asks for ``context``."""

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: object = None
    retry_context: object = None
    thread_local_storage: object = field(default_factory=threading.local)


async def _named(spec: FunctionSpec, kwargs: dict):
    current_function.set(spec.name)  # the task runs in its own copy of the context
    return await spec.user_function(**kwargs)


class Invoker:
    def __init__(self, app_dir: Path, after_invocation: Callable[[FunctionSpec], None] | None = None,
                 write_outputs: Callable[[FunctionSpec, dict], None] | None = None) -> None:
        self.app_dir = str(app_dir)
        self.after_invocation = after_invocation
        self.write_outputs = write_outputs
        self._pool = WorkerPool(pool_size())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self.counts = {"ok": 0, "failed": 0}

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="devhost-asyncio", daemon=True).start()
            return self._loop

    def call(self, spec: FunctionSpec, trigger_value: object):
        """Run the function; return its result or raise what it raised (after logging it)."""
        invocation_id = str(uuid.uuid4())
        kwargs = {spec.arg_name: trigger_value}
        outputs = {binding["name"]: Out() for binding in spec.outputs}
        kwargs.update(outputs)
        if spec.wants_context:
            kwargs["context"] = InvocationContext(invocation_id, spec.name, self.app_dir)
        token = current_function.set(spec.name)
        started = time.monotonic()
        log.info("Executing '%s' (id=%s)", spec.name, invocation_id)
        try:
            if spec.is_async:
                future = asyncio.run_coroutine_threadsafe(_named(spec, kwargs), self._event_loop())
                result = future.result()
            else:
                result = self._pool.run(lambda: spec.user_function(**kwargs))
            if outputs and self.write_outputs:  # part of the invocation: a failed write fails it
                self.write_outputs(spec, {name: out.get() for name, out in outputs.items()})
        except BaseException:
            self._count("failed")
            log.exception("Executed '%s' (Failed, id=%s, %.0f ms)", spec.name, invocation_id,
                          (time.monotonic() - started) * 1000)
            raise
        else:
            self._count("ok")
            log.info("Executed '%s' (Succeeded, id=%s, %.0f ms)", spec.name, invocation_id,
                     (time.monotonic() - started) * 1000)
        finally:
            current_function.reset(token)
            if self.after_invocation:
                self.after_invocation(spec)
        return result

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def close(self) -> None:
        self._pool.close()
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None
