from datetime import UTC, datetime

import pytest

from devtools.devhost.ncrontab import CronError, CronSchedule

T0 = datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC)  # a Monday


def nxt(expr, after=T0, settings=None):
    return CronSchedule.parse(expr, settings or {}).next_after(after)


def test_every_second_fires_on_the_next_second():
    assert nxt("*/1 * * * * *") == datetime(2026, 3, 2, 10, 15, 31, tzinfo=UTC)


def test_six_fields_have_seconds_first():
    assert nxt("0 */5 * * * *") == datetime(2026, 3, 2, 10, 20, 0, tzinfo=UTC)
    assert nxt("45 15 10 * * *") == datetime(2026, 3, 2, 10, 15, 45, tzinfo=UTC)


def test_five_fields_have_no_seconds():
    schedule = CronSchedule.parse("30 9 * * *", {})
    assert not schedule.has_seconds
    assert schedule.next_after(T0) == datetime(2026, 3, 3, 9, 30, 0, tzinfo=UTC)


def test_ranges_lists_and_steps():
    assert nxt("0 0 9-17/4 * * *") == datetime(2026, 3, 2, 13, 0, 0, tzinfo=UTC)
    assert nxt("0 10,40 * * * *") == datetime(2026, 3, 2, 10, 40, 0, tzinfo=UTC)
    assert CronSchedule.parse("5/20 * * * * *", {}).seconds == {5, 25, 45}


def test_day_of_week_names_and_numbers_are_the_same():
    by_name = nxt("0 0 8 * * Sat")
    assert by_name == nxt("0 0 8 * * 6") == nxt("0 0 8 * * saturday")
    assert by_name == datetime(2026, 3, 7, 8, 0, 0, tzinfo=UTC)
    assert nxt("0 0 8 * * Sun") == datetime(2026, 3, 8, 8, 0, 0, tzinfo=UTC)  # 0 = Sunday
    assert nxt("0 0 8 * * mon-fri") == datetime(2026, 3, 3, 8, 0, 0, tzinfo=UTC)


def test_month_names_and_year_rollover():
    assert nxt("0 0 0 1 jan *") == datetime(2027, 1, 1, tzinfo=UTC)
    assert nxt("0 0 0 29 2 *") == datetime(2028, 2, 29, tzinfo=UTC)


def test_day_of_month_and_day_of_week_must_both_match():
    # NCrontab ANDs the two fields: the 13th that is a Friday (Vixie cron would OR them)
    assert nxt("0 0 0 13 * Fri") == datetime(2026, 3, 13, tzinfo=UTC)
    assert nxt("0 0 0 13 * Fri", datetime(2026, 3, 14, tzinfo=UTC)) == datetime(2026, 11, 13, tzinfo=UTC)


def test_setting_reference_is_resolved():
    assert nxt("%SCHED%", settings={"SCHED": "0 0 12 * * *"}) == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    with pytest.raises(CronError, match="MISSING"):
        CronSchedule.parse("%MISSING%", {})


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * * *", "* * 24 * * *", "0 0 0 0 * *", "* * * * * 7",
                                 "*/0 * * * * *", "a * * * * *", "5-1 * * * * *", "0 0 0 31 feb *"])
def test_invalid_expressions_are_rejected(bad):
    with pytest.raises(CronError):
        CronSchedule.parse(bad, {}).next_after(T0)


@pytest.mark.parametrize(("expr", "allowed"), [
    ("*/5 * * * * *", False), ("10,20,45 * * * * *", False), ("0 * * * * *", True), ("30 * * * * *", True),
    ("* 30 * * * *", True), ("* * 12 * * Mon", True), ("0 */5 * * * *", True),
])
def test_monitor_is_off_only_for_more_than_once_a_minute(expr, allowed):
    # the host's ShouldDisableScheduleMonitor cases
    assert CronSchedule.parse(expr, {}).monitor_allowed(T0) is allowed


def test_naive_times_are_utc():
    assert nxt("0 0 * * * *", T0.replace(tzinfo=None)) == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
