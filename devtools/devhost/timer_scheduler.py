"""Run one timer-triggered function on its NCRONTAB schedule (TimerListener semantics).

At start: with the monitor on, a recorded Next that has passed fires once with
past_due=True; otherwise run_on_startup fires once with past_due=False. Invocations never
overlap (one thread per timer); after each run Next is computed from the run's time, so
occurrences missed while a run was busy are skipped; failures are logged and the schedule
goes on. useMonitor defaults to true and is turned off for schedules firing more than once
a minute.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from devtools.devhost.app_loader import FunctionSpec
from devtools.devhost.ncrontab import CronSchedule
from devtools.devhost.schedule_monitor import FileScheduleMonitor, ScheduleStatus

log = logging.getLogger("devhost")


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimerScheduler:
    def __init__(self, spec: FunctionSpec, monitor: FileScheduleMonitor, run: Callable[[FunctionSpec, object], None],
                 now: Callable[[], datetime] = utcnow) -> None:
        self.spec, self.monitor, self.run, self.now = spec, monitor, run, now
        self.schedule = CronSchedule.parse(str(spec.trigger["schedule"]))
        self.run_on_startup = bool(spec.trigger.get("runOnStartup", False))
        use_monitor = spec.trigger.get("useMonitor")
        self.use_monitor = (True if use_monitor is None else bool(use_monitor)) and \
            self.schedule.monitor_allowed(self.now())
        self.status: ScheduleStatus | None = None
        self._stop = threading.Event()
        self._busy = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"timer-{spec.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        now = self.now()
        past_due = False
        if self.use_monitor:
            past_due, self.status = self.monitor.check_past_due(self.spec.name, now, self.schedule,
                                                                self.monitor.read(self.spec.name))
        if past_due:
            self.fire(past_due=True, when=now)
        elif self.run_on_startup:
            self.fire(past_due=False, when=now)
        while not self._stop.is_set():
            now = self.now()
            due = self.status.next if (self.use_monitor and self.status and self.status.next > now) \
                else self.schedule.next_after(now)
            if self._stop.wait(max(0.0, (due - self.now()).total_seconds())):
                break
            self.fire(past_due=False, when=due)

    def fire(self, *, past_due: bool, when: datetime | None = None) -> None:
        """Invoke now (also used by the admin endpoint); never overlaps another run."""
        with self._busy:
            request = TimerRequest(past_due=past_due, schedule={"AdjustForDST": True},
                                   schedule_status=self.status.to_json() if self.use_monitor and self.status else None)
            try:
                self.run(self.spec, request)
            except Exception:  # logged by the invoker; the schedule continues
                log.warning("timer %s failed; next run per schedule", self.spec.name)
            if self.use_monitor:
                ran_at = when or self.now()
                self.status = ScheduleStatus(ran_at, self.schedule.next_after(ran_at), ran_at)
                self.monitor.write(self.spec.name, self.status)
