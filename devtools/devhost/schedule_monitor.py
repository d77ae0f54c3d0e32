"""Timer schedule status ``{Last, Next, LastUpdated}`` and the host's past-due check.

The real host keeps the status in blob ``azure-webjobs-hosts/timers/{hostId}/{timerName}/status``;
the dev host keeps the same JSON in a local file ``{state_dir}/timers/{hostId}/{timerName}/status``
(default state dir ``.run/devhost`` next to the app), so past-due detection survives restarts
without a blob emulator. ``check_past_due`` follows ScheduleMonitor.CheckPastDueAsync.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devtools.devhost.ncrontab import CronSchedule

DEFAULT_LAST = "0001-01-01T00:00:00"  # .NET default(DateTime), what the host writes before a first run


@dataclass
class ScheduleStatus:
    last: datetime | None
    next: datetime
    last_updated: datetime | None

    def to_json(self) -> dict:
        return {"Last": _fmt(self.last), "Next": _fmt(self.next), "LastUpdated": _fmt(self.last_updated)}

    @classmethod
    def from_json(cls, data: dict) -> ScheduleStatus:
        return cls(_parse(data.get("Last")), _parse(data["Next"]), _parse(data.get("LastUpdated")))


def _fmt(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else DEFAULT_LAST


def _parse(text: str | None) -> datetime | None:
    if not text or text.startswith("0001-01-01"):
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class FileScheduleMonitor:
    def __init__(self, state_dir: Path, host_id: str) -> None:
        self.root = Path(state_dir) / "timers" / host_id

    def path(self, timer_name: str) -> Path:
        return self.root / timer_name / "status"

    def read(self, timer_name: str) -> ScheduleStatus | None:
        try:
            return ScheduleStatus.from_json(json.loads(self.path(timer_name).read_text()))
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def write(self, timer_name: str, status: ScheduleStatus) -> None:
        path = self.path(timer_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(status.to_json()))
        tmp.replace(path)

    def check_past_due(self, timer_name: str, now: datetime, schedule: CronSchedule,
                       status: ScheduleStatus | None) -> tuple[bool, ScheduleStatus]:
        """Return (past_due, status as recorded after the check)."""
        if status is None:
            status = ScheduleStatus(None, schedule.next_after(now), now)
            self.write(timer_name, status)
            return False, status
        if status.last is not None:
            expected, last_updated = schedule.next_after(status.last), status.last_updated
        elif status.last_updated is not None:
            expected, last_updated = schedule.next_after(status.last_updated), status.last_updated
        else:
            expected, last_updated = schedule.next_after(now), now
        if status.next != expected:  # the schedule changed since the status was written
            if now > expected:
                expected, last_updated = schedule.next_after(now), now
            status = ScheduleStatus(None, expected, last_updated)
            self.write(timer_name, status)
        return now > status.next, status
