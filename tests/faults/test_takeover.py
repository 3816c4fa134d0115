"""Takeover as the docs promise it, on one private MariaDB: a process killed while it holds claims has them
taken over once they run out, each monitor checked once (never twice within half an interval), the next check
one interval after the one that took over; and a process whose database froze comes back without a leaked
connection or a task that crashed."""

import json
import signal
import time
import urllib.request

from ..conftest import pserve
from ..helpers import CHECKS_LOGGED, wait_until
from ..monitors.conftest import TargetServer
from .conftest import fault_settings

INTERVAL = 6  # under 2 x (timeout + 10 s): the old schedule's next slot came seconds after a takeover
TIMEOUT = 1
MONITORS = 10
TOKEN = "metrics-token-0123456789"
#: what a process must never log: a connection left to the garbage collector, a background task that crashed
#: and was restarted (a pool that ran dry while the database froze, its error escaping), a traceback
NEVER = ("garbage collector", "failed; restarting", "Traceback")


def owner_of(url):
    request = urllib.request.Request(url + "/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as res:
        return json.load(res)["scheduler"]["owner"]


def claimed_by(mariadb, owner):
    with mariadb.connect(database=mariadb.database) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT id FROM monitors WHERE claimed_by = %s", (owner,))
        return {row[0] for row in cursor.fetchall()}


def monitors(fault_app, target):
    from sqlalchemy import select

    from myapp.models import User, run_in_session
    from myapp.monitors import service
    from myapp.monitors.schema import validate

    async def make(session):
        owner = await session.scalar(select(User.id).where(User.email == "ada@example.com"))
        ids = []
        for n in range(MONITORS):
            fields = {"name": f"m{n}", "url": f"{target.url}/m/{n}", "interval": INTERVAL, "timeout": TIMEOUT}
            ids.append((await service.create_monitor(session, owner, validate(fields, {"min_interval": 1}))).id)
        return ids

    return run_in_session(fault_app.registry, make)


def recently_checked(mariadb):
    """How many monitors have a result stored within the last interval (the test's: it forgets them at its end)."""
    with mariadb.connect(database=mariadb.database) as conn, conn.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM monitors WHERE last_check_at > UTC_TIMESTAMP(6) - INTERVAL {INTERVAL} SECOND"
        )
        return cursor.fetchone()[0]


def hits(target, n, since):
    return sorted(h["at"] for h in target.hits_on(f"/m/{n}") if h["at"] >= since)


def forget_monitors(mariadb):
    with mariadb.connect(database=mariadb.database) as conn, conn.cursor() as cursor:
        cursor.execute("DELETE FROM monitors")


def problems(log):
    return [line for line in log.read_text().splitlines() if any(word in line for word in NEVER)]


def test_a_takeover_checks_each_monitor_once_and_then_on_an_interval_from_it(fault_app, mariadb, tmp_path):
    target = TargetServer().start()
    try:
        ids = monitors(fault_app, target)
        settings = fault_settings(
            mariadb,
            **{
                "monitors.scheduler": "true",
                "monitors.min_interval": "1",
                "metrics.token": TOKEN,
                "myapp.create_schema": "false",
            },
        )
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        with (
            pserve(tmp_path, settings, extra=CHECKS_LOGGED, log=logs[0]) as (a, process_a),
            pserve(tmp_path, settings, extra=CHECKS_LOGGED, log=logs[1]) as (b, _),
        ):
            wait_until(lambda: all(target.hits_on(f"/m/{n}") for n in range(MONITORS)), timeout=30)
            owner = owner_of(a)
            held = wait_until(lambda: claimed_by(mariadb, owner), timeout=2 * INTERVAL)  # A holds claims now
            process_a.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            process_a.wait(10)
            # every monitor A held is taken over once its claim runs out (timeout + 10 s), then checked on
            wait_until(lambda: time.monotonic() > killed + TIMEOUT + 10 + 3 * INTERVAL, timeout=60)
            ended = time.monotonic()
            assert claimed_by(mariadb, owner) == set()
        since = killed - 2 * INTERVAL
        for n, monitor_id in enumerate(ids):
            times = hits(target, n, since)
            gaps = [round(later - earlier, 2) for earlier, later in zip(times, times[1:])]
            assert min(gaps) > INTERVAL / 2, (monitor_id in held, gaps)  # never twice within half an interval
            assert max(gaps) < TIMEOUT + 10 + 2 * INTERVAL, (monitor_id in held, gaps)  # taken over in time
            assert times[-1] > ended - 1.5 * INTERVAL, (monitor_id, times[-1] - ended)  # and still checked
            if monitor_id in held:  # after the takeover: on an interval from the check that took over
                taken = next(n for n, gap in enumerate(gaps) if gap > 1.5 * INTERVAL)
                assert all(abs(gap - INTERVAL) < 1 for gap in gaps[taken + 1 :]), gaps
        assert problems(logs[1]) == []
    finally:
        target.stop()
        forget_monitors(mariadb)


def test_a_process_whose_database_froze_comes_back_clean(fault_app, mariadb, tmp_path):
    """Frozen for 8 s (a node cut off by the network) while checks run, with a small pool: no connection left
    to the garbage collector, no background task crashed and restarted, and checks resume."""
    target = TargetServer().start()
    try:
        monitors(fault_app, target)
        settings = fault_settings(
            mariadb,
            **{
                "monitors.scheduler": "true",
                "monitors.min_interval": "1",
                "alerts.outbox": "true",
                "metrics.token": TOKEN,
                "myapp.create_schema": "false",
                "sqlalchemy.pool_size": "2",
                "sqlalchemy.pool_timeout": "2",
            },
        )
        log = tmp_path / "frozen.log"
        with pserve(tmp_path, settings, extra=CHECKS_LOGGED, log=log) as (url, _):
            wait_until(lambda: all(target.hits_on(f"/m/{n}") for n in range(MONITORS)), timeout=30)
            owner = owner_of(url)
            wait_until(lambda: claimed_by(mariadb, owner), timeout=2 * INTERVAL)  # claims held as it freezes
            mariadb.freeze()
            frozen = time.monotonic()
            try:
                wait_until(lambda: time.monotonic() > frozen + 8, timeout=10)
            finally:
                mariadb.thaw()
            thawed = time.monotonic()
            # checks go on, and their results are written again
            wait_until(lambda: all(hits(target, n, thawed + INTERVAL) for n in range(MONITORS)), timeout=60)
            wait_until(lambda: recently_checked(mariadb) == MONITORS, timeout=3 * INTERVAL)
        assert problems(log) == []
    finally:
        target.stop()
        forget_monitors(mariadb)
