"""When a monitor is checked next: a decision of the kinds' own, tested without a database or a loop."""

import datetime
from types import SimpleNamespace

from myapp.checks.kinds import KINDS

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


def moved(kind, changes, **row):
    """The next check ``kind`` sets after ``changes`` to a monitor (``row``), in seconds from T0; None: unmoved."""
    fields = {"interval": 60, "grace": None, "cron": None, "timezone": None, "last_check_at": None, **row}
    due = KINDS[kind].rescheduled(SimpleNamespace(**fields), changes, T0)
    return None if due is None else (due - T0).total_seconds()


def test_a_shorter_interval_brings_the_next_check_closer_and_nothing_else_moves_it():
    later = T0 + datetime.timedelta(seconds=3600)
    assert moved("http", {"interval": 60}, next_check_at=later) == 60
    assert moved("tcp", {"name": "renamed"}, next_check_at=T0 + datetime.timedelta(seconds=30)) is None


def test_a_heartbeat_moves_its_deadline_for_a_new_schedule_alone():
    pinged = T0 - datetime.timedelta(seconds=20)
    deadline = T0 + datetime.timedelta(seconds=3640)  # pinged 20 s ago, an hour's grace
    row = {"interval": 60, "grace": 3600, "last_check_at": pinged, "next_check_at": deadline}
    # a new name keeps the deadline its last ping set (a shorter-interval rule would cut the grace off)
    assert moved("heartbeat", {"name": "renamed", "degraded_ms": 500}, **row) is None
    # a new period counts from the last ping; a monitor that becomes a heartbeat counts from now
    assert moved("heartbeat", {"interval": 120}, **{**row, "interval": 120}) == -20 + 120 + 3600
    assert moved("heartbeat", {"kind": "heartbeat"}, **row) == 60 + 3600
