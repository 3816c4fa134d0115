"""Three app processes on one MariaDB: every due check runs exactly once."""

import json
import time
import urllib.request

import pytest
from sqlalchemy import func, select

from myapp.models import CheckResult

from ..conftest import pserve
from ..helpers import wait_until
from ..monitors.conftest import new_monitor, run_sql

INTERVAL = 2
MONITORS = 20
TOKEN = "metrics-token-0123456789"


def scheduler_stats(url):
    request = urllib.request.Request(url + "/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as res:
        return json.load(res)["scheduler"]


def test_three_processes_check_each_due_monitor_once(app, app_settings, backend, testapp, owner, target, tmp_path):
    if backend != "mysql":
        pytest.skip("several processes share a MariaDB; SQLite serves one")
    auth = owner[1]
    ids = [
        new_monitor(testapp, auth, name=f"m{n}", url=f"{target.url}/m/{n}", interval=INTERVAL, timeout=1)["id"]
        for n in range(MONITORS)
    ]
    settings = {
        **app_settings,
        "monitors.scheduler": "true",
        "metrics.token": TOKEN,
        "aio.debug": "false",
        "myapp.create_schema": "false",
    }
    with (
        pserve(tmp_path, settings) as (a, _),
        pserve(tmp_path, settings) as (b, _),
        pserve(tmp_path, settings) as (c, _),
    ):
        wait_until(lambda: len(target.hits) >= MONITORS, timeout=20)  # every monitor has been checked once
        started = time.monotonic()
        wait_until(lambda: time.monotonic() > started + 4 * INTERVAL, timeout=20)
        window_end = time.monotonic()
        stats = [scheduler_stats(url) for url in (a, b, c)]
    # they share the work (a process that polls just after another every time may get none in a short run)
    assert sum(1 for s in stats if s["checks"] > 0) >= 2, stats
    for n in range(MONITORS):
        # after the first round (which may be late: the processes were still starting), on the schedule
        times = sorted(h["at"] for h in target.hits_on(f"/m/{n}") if started <= h["at"] <= window_end)
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        assert min(gaps) > INTERVAL * 0.5, (n, gaps)  # never checked twice in one interval
        assert max(gaps) < INTERVAL * 1.5, (n, gaps)  # nor skipped
        assert 3 <= len(times) <= 5, (n, len(times))
    stored = dict(
        run_sql(
            app,
            select(CheckResult.monitor_id, func.count())
            .where(CheckResult.monitor_id.in_(ids))
            .group_by(CheckResult.monitor_id),
        )
    )
    for n, monitor_id in enumerate(ids):
        hits = len(target.hits_on(f"/m/{n}"))
        # each check stored once; the one in flight when its process stopped may not be
        assert hits - 1 <= stored.get(monitor_id, 0) <= hits, (n, hits, stored.get(monitor_id))


def test_a_result_older_than_the_last_check_is_not_recorded(app, testapp, owner, target):
    """A process whose database was away keeps the results of its claims; by the time it writes them, it may
    hold a new claim on the same monitor (its old ones ran out and others checked meanwhile). The old result
    must not be recorded over the newer ones: it would open an incident for an outage that is over."""
    import datetime

    from myapp.checks import results
    from myapp.checks.state import Result
    from myapp.models.meta import utcnow

    from ..conftest import in_app

    monitor = new_monitor(testapp, owner[1], url=target.url + "/ok", failures_to_down=1)
    now = utcnow()
    run_sql(
        app,
        "UPDATE monitors SET claimed_by = 'p1', last_check_at = :now, state = 'UP' WHERE id = :id",
        now=now,
        id=monitor["id"],
    )
    stale = Result(at=now - datetime.timedelta(seconds=30), ok=False, status_code=500, latency_ms=1, error="500")

    async def write(session):
        return await results.record(session, [results.Outcome(monitor["id"], stale, owner="p1")])

    assert in_app(app, write) == []
    assert run_sql(app, "SELECT state, fail_streak FROM monitors") == [("UP", 0)]
    assert run_sql(app, "SELECT COUNT(*) FROM check_results") == [(0,)]
