from datetime import UTC, datetime, timedelta

from devtools.devhost.ncrontab import CronSchedule
from devtools.devhost.schedule_monitor import FileScheduleMonitor, ScheduleStatus

HOURLY = CronSchedule.parse("0 0 * * * *", {})
NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def test_first_start_records_next_and_is_not_past_due(tmp_path):
    monitor = FileScheduleMonitor(tmp_path, "host")
    past_due, status = monitor.check_past_due("t", NOW, HOURLY, None)
    assert not past_due
    assert monitor.read("t") == status == ScheduleStatus(None, NOW.replace(hour=11, minute=0), NOW)


def test_a_next_that_passed_during_downtime_is_past_due(tmp_path):
    monitor = FileScheduleMonitor(tmp_path, "host")
    last = NOW - timedelta(hours=3, minutes=15)  # 07:00
    past_due, status = monitor.check_past_due("t", NOW, HOURLY, ScheduleStatus(last, last + timedelta(hours=1), last))
    assert past_due and status.next == last + timedelta(hours=1)


def test_a_changed_schedule_whose_next_passed_is_recomputed_not_past_due(tmp_path):
    monitor = FileScheduleMonitor(tmp_path, "host")
    last = NOW - timedelta(hours=3)
    old = ScheduleStatus(last, last + timedelta(minutes=7), last)  # written by some other schedule
    past_due, status = monitor.check_past_due("t", NOW, HOURLY, old)
    assert not past_due
    assert status == ScheduleStatus(None, NOW.replace(hour=11, minute=0), NOW)


def test_status_json_uses_the_host_names(tmp_path):
    status = ScheduleStatus(None, NOW, NOW)
    assert status.to_json() == {"Last": "0001-01-01T00:00:00", "Next": NOW.isoformat(), "LastUpdated": NOW.isoformat()}
    assert ScheduleStatus.from_json(status.to_json()) == status
