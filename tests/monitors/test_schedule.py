"""When a monitor is checked next: a decision of the kinds' own, tested without a database or a loop."""

import datetime
from types import SimpleNamespace

from myapp.monitors.kinds import KINDS

T0 = datetime.datetime(2026, 12, 7, 12, 0, 0)


def after(seconds_late, interval=60):
    """(seconds from the slot it was due in to the next check) of a check that started this late."""
    row = SimpleNamespace(interval=interval, cron=None)
    due = KINDS["http"].next_due(row, T0, T0 + datetime.timedelta(seconds=seconds_late))
    return (due - T0).total_seconds()


def test_a_check_on_time_is_followed_one_interval_later():
    assert after(0) == 60 and after(0.3) == 60


def test_a_late_check_keeps_the_schedule_but_never_has_the_next_within_half_an_interval():
    assert after(29) == 60  # 31 s later: the next slot
    assert after(31) == 120  # 29 s later would be too close: the slot after it
    assert after(150) == 240  # slots missed are skipped, and the next is 90 s away
