"""DevHost: settings → host.json → app → HTTP front door, queue listeners, timers.

    with DevHost("function_app", app_dir=".", port=0, env_overrides={...}) as host:
        requests.get(host.base_url + "/api/health")
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from azure.functions.queue import QueueMessage

from devtools.devhost import auth, report, settings
from devtools.devhost.app_loader import AppLoadError, FunctionSpec, load_functions
from devtools.devhost.host_json import load_host_json
from devtools.devhost.http_server import HttpFrontDoor
from devtools.devhost.invoke import Invoker
from devtools.devhost.queue_listener import RECEIVE_VISIBILITY, QueueListener
from devtools.devhost.queue_output import QueueOutputs
from devtools.devhost.schedule_monitor import FileScheduleMonitor
from devtools.devhost.timer_scheduler import TimerScheduler

log = logging.getLogger("devhost")
_QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


class DevHostError(RuntimeError):
    """The host cannot start; the message says what to fix."""


class DevHost:
    def __init__(self, app: str = "function_app", app_dir: str | Path | None = None, *,
                 settings_path: str | Path | None = None, host_json: str | Path | None = None, port: int | None = 0,
                 env_overrides: dict[str, str] | None = None, state_dir: str | Path | None = None,
                 grace_seconds: float = 30.0, receive_visibility: float = RECEIVE_VISIBILITY,
                 out: TextIO | None = None) -> None:
        if app_dir is None and app.endswith(".py"):
            app = str(Path(app).resolve())  # a file path is taken relative to the current directory
            app_dir = Path(app).parent
        app_dir = app_dir or Path.cwd()
        self.app, self.app_dir = app, Path(app_dir).resolve()
        self.settings_path = Path(settings_path) if settings_path else None
        self.host_json = Path(host_json) if host_json else self.app_dir / "host.json"
        self.port, self.env_overrides = port, dict(env_overrides or {})
        self.state_dir = Path(state_dir) if state_dir else self.app_dir / ".run" / "devhost"
        self.grace_seconds, self.receive_visibility = grace_seconds, receive_visibility
        self.out = out or sys.stdout
        self.specs: list[FunctionSpec] = []
        self.listeners: list[QueueListener] = []
        self.timers: dict[str, TimerScheduler] = {}
        self.http: HttpFrontDoor | None = None
        self.invoker: Invoker | None = None
        self.started_at = 0.0
        self.running = False
        self._env = settings.EnvironmentScope()

    def _load_settings(self) -> dict:
        local = settings.read_settings(settings.find_settings_file(self.app_dir, self.settings_path))
        for name in settings.load_into_environment(local.values, self.env_overrides, self._env):
            log.info("Skipping '%s' from local settings as it's already defined in current environment "
                     "variables.", name)
        log.info("settings from %s", local.path)
        return local.host

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> DevHost:
        try:
            self._start()
        except (ValueError, AppLoadError, OSError) as exc:  # settings, host.json, route and schedule errors
            self._teardown()
            raise DevHostError(str(exc)) from exc
        except DevHostError:
            self._teardown()
            raise
        return self

    def _start(self) -> None:
        host_section = self._load_settings()
        development = os.environ["AZURE_FUNCTIONS_ENVIRONMENT"].lower() == "development"
        config = load_host_json(self.host_json, development=development)
        self.specs = [replace(s, disabled=settings.is_disabled(s.name)) for s in load_functions(self.app, self.app_dir)]
        keys = auth.Keys.from_environ()
        if keys.files:
            keys.files.check([s.name for s in self.specs if s.kind == "http"])
        problems = auth.missing_key_settings(
            {s.name: s.trigger["authLevel"] for s in self.specs if s.kind == "http"}, keys)
        if problems:
            raise DevHostError("; ".join(problems) + " (set it in local.settings.json Values)")
        outputs = QueueOutputs(config.queues.message_encoding, self._notify_listener)
        outputs.check(self.specs)
        self.invoker = Invoker(self.app_dir, write_outputs=outputs.write)
        for spec in self.specs:
            if spec.kind == "queue" and not spec.disabled:
                self.listeners.append(self._listener(spec, config.queues))
            elif spec.kind == "timer":
                self.timers[spec.name] = TimerScheduler(spec, FileScheduleMonitor(self.state_dir, self.host_id),
                                                        self.invoker.call)
        self.http = HttpFrontDoor(self.specs, config.route_prefix, self.invoker, keys, self.admin_run,
                                  self.status)
        port = self.port if self.port is not None else int(host_section.get("LocalHttpPort", 7071))
        self.port = self.http.start(port)
        self.started_at = time.monotonic()
        for listener in self.listeners:
            listener.start()
        for name, timer in self.timers.items():
            if not next(s for s in self.specs if s.name == name).disabled:  # admin runs still reach it
                timer.start()
        self.running = True
        self._print_table(config.route_prefix)

    def _listener(self, spec: FunctionSpec, options) -> QueueListener:
        queue = settings.resolve_setting_references(str(spec.trigger["queueName"]))
        if not _QUEUE_NAME.match(queue):
            raise DevHostError(f"function {spec.name!r}: {queue!r} is not a valid queue name "
                               "(3-63 lower-case letters, digits, single hyphens)")
        conn = settings.storage_connection_string(spec.trigger.get("connection"))
        return QueueListener(spec, queue, conn, options, self.invoker.call, self.receive_visibility)

    @property
    def host_id(self) -> str:
        configured = os.environ.get("AzureFunctionsWebHost__hostid")  # noqa: SIM112
        if configured:
            return configured
        raw = f"{socket.gethostname()}-{self.app_dir.name}".lower()
        return re.sub(r"[^a-z0-9-]", "-", raw)[:32].strip("-")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _notify_listener(self, queue: str) -> None:
        """An output binding wrote to ``queue``: its listener polls now (the host's SharedQueueWatcher)."""
        for listener in self.listeners:
            if listener.queue == queue:
                listener.notify()

    def status(self) -> dict:
        return {"id": self.host_id, "state": "Running", "version": "devhost",
                "processUptime": int((time.monotonic() - self.started_at) * 1000),
                "functions": [s.name for s in self.specs]}

    def admin_run(self, spec: FunctionSpec, value: str) -> None:
        if spec.kind == "timer":
            target = lambda: self.timers[spec.name].fire(past_due=False)  # noqa: E731
        else:
            now = datetime.now(UTC)
            msg = QueueMessage(id=str(uuid.uuid4()), body=value.encode(), dequeue_count=1, insertion_time=now,
                               expiration_time=now + timedelta(days=7), time_next_visible=now, pop_receipt="")

            def target():
                try:
                    self.invoker.call(spec, msg)
                except Exception:  # logged by the invoker
                    log.debug("admin run of %s failed", spec.name)
        threading.Thread(target=target, name=f"admin-{spec.name}", daemon=True).start()

    def _print_table(self, prefix: str) -> None:
        for line in report.function_table(self.specs, prefix):
            print(line, file=self.out)
        print(f"devhost ready on {self.base_url}", file=self.out, flush=True)

    def stop(self) -> str:
        """Stop polling and timers, let in-flight work finish within the grace period; one-line summary."""
        if not self.running:
            return "devhost was not running"
        self.running = False
        deadline = time.monotonic() + self.grace_seconds
        for listener in self.listeners:
            listener.stop_polling()
        for timer in self.timers.values():
            timer.stop()
        if self.http:
            self.http.stop()
        unfinished = 0
        for listener in self.listeners:
            before = listener.in_flight
            if not listener.drain(max(0.0, deadline - time.monotonic())):
                unfinished += listener.in_flight or before
        for timer in self.timers.values():
            timer.join(max(0.1, deadline - time.monotonic()))
        summary = self.summary(unfinished)
        self._teardown()
        print(summary, file=self.out, flush=True)
        return summary

    def summary(self, unfinished: int) -> str:
        return report.summary(self.invoker.counts if self.invoker else {},
                              [listener.processor.counts for listener in self.listeners], unfinished)

    def _teardown(self) -> None:
        if self.http:
            self.http.stop()
        if self.invoker:
            self.invoker.close()
        self._env.restore()

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
