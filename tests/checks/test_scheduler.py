"""The real scheduler, in the app's service loop, against real targets: states, incidents, claims, limits."""

import datetime

from sqlalchemy import func, select, update

from myapp.checks import Monitoring, claims, results
from myapp.models import CheckResult, DailyRollup, HourlyRollup, Monitor
from myapp.models.meta import utcnow
from myapp.services import find

from ..conftest import in_app
from ..helpers import wait_until
from ..monitors.conftest import new_monitor, run_sql

SCHEDULER = {"monitors.scheduler": "true", "metrics.token": "metrics-token-0123456789"}


def monitor_of(client, auth, monitor_id):
    return client.get(f"/api/monitors/{monitor_id}", headers=auth).json


def test_up_down_and_back_with_an_incident(make_myapp, owner, target):
    client = make_myapp(**SCHEDULER)
    auth = owner[1]
    monitor = new_monitor(client, auth, url=target.url + "/flip", interval=1, timeout=1, failures_to_down=2)
    mid = monitor["id"]
    wait_until(lambda: monitor_of(client, auth, mid)["state"] == "UP")
    target.flip_status = 503
    down = wait_until(lambda: (m := monitor_of(client, auth, mid))["state"] == "DOWN" and m)
    assert down["last_check"]["error"] == "expected status 200-399, got 503"
    incident = client.get(f"/api/monitors/{mid}/incidents", headers=auth).json["incidents"]
    assert len(incident) == 1 and incident[0]["ended_at"] is None
    failures = [
        r
        for r in client.get(f"/api/monitors/{mid}/results", {"limit": 100}, headers=auth).json["results"]
        if not r["ok"]
    ]
    assert incident[0]["started_at"] == failures[-1]["at"]  # the first failure of the streak
    target.flip_status = 200
    wait_until(lambda: monitor_of(client, auth, mid)["state"] == "UP")
    closed = client.get("/api/incidents", headers=auth).json["incidents"]
    assert len(closed) == 1 and closed[0]["ended_at"] is not None
    # every check the target saw is stored once
    stored = client.get(f"/api/monitors/{mid}/results", {"limit": 100}, headers=auth).json["results"]
    assert abs(len(stored) - len(target.hits_on("/flip"))) <= 1  # at most one in flight right now


def test_a_claim_of_a_process_that_died_is_taken_back(make_myapp, owner, target, app):
    auth = owner[1]
    client = make_myapp()  # no scheduler yet
    monitor = new_monitor(client, auth, url=target.url + "/ok", interval=3600, timeout=5)
    past = utcnow() - datetime.timedelta(seconds=1)
    slot = utcnow() - datetime.timedelta(minutes=40)  # claimed then, never written: 40 min is over half an interval
    run_sql(
        app,
        update(Monitor)
        .where(Monitor.id == monitor["id"])
        .values(claimed_by="gone:123:dead", due_at=past, next_check_at=slot),
    )
    scheduled = make_myapp(**SCHEDULER)
    checked = wait_until(lambda: (m := monitor_of(scheduled, auth, monitor["id"]))["last_check"] and m)
    assert checked["state"] == "UP"
    [(claimed_by, next_check)] = run_sql(
        app, select(Monitor.claimed_by, Monitor.next_check_at).where(Monitor.id == monitor["id"])
    )
    # taken over: the schedule starts again from the check that took over (one interval after it)
    hour_later = datetime.datetime.fromisoformat(checked["last_check"]["at"].rstrip("Z")) + datetime.timedelta(hours=1)
    assert claimed_by is None and abs((next_check - hour_later).total_seconds()) < 1


def test_a_retake_comes_half_an_interval_after_the_check_that_may_have_run(app, owner, target, testapp):
    """A claim that ran out may have been checked (its result not written): the retake waits."""
    auth = owner[1]
    monitor = new_monitor(testapp, auth, url=target.url + "/ok", interval=600, timeout=5)
    now = utcnow()
    slot = now - datetime.timedelta(seconds=20)
    run_sql(
        app,
        update(Monitor)
        .where(Monitor.id == monitor["id"])
        .values(claimed_by="gone:123:dead", due_at=now - datetime.timedelta(seconds=1), next_check_at=slot),
    )
    taken, _ = in_app(app, lambda s: claims.claim(s, "here:1:alive", 10, datetime.timedelta(seconds=1), now=now))
    assert [(c.monitor_id, c.start_at) for c in taken] == [(monitor["id"], slot + datetime.timedelta(seconds=300))]


def test_a_takeover_waits_for_the_claim_to_run_out_and_the_next_check_is_an_interval_after_it(app, owner, testapp):
    """A claim is taken up to a second before it runs out; the check starts when it has.  The check that took
    over starts the schedule again: the next is one interval after it, not the old slot's next, which could be
    seconds away (interval 15 s, retaken at slot + 7.5 s: the old schedule's next came 7.5 s later)."""
    from myapp.checks.state import Result

    auth = owner[1]
    monitor = new_monitor(testapp, auth, url="http://127.0.0.1:9/", interval=15, timeout=2)
    now = utcnow()
    slot, runs_out = now - datetime.timedelta(seconds=14), now + datetime.timedelta(milliseconds=600)
    run_sql(
        app,
        update(Monitor)
        .where(Monitor.id == monitor["id"])
        .values(claimed_by="gone:123:dead", due_at=runs_out, next_check_at=slot),
    )
    taken, _ = in_app(app, lambda s: claims.claim(s, "here:1:alive", 10, datetime.timedelta(seconds=1), now=now))
    assert [(c.monitor_id, c.start_at, c.retaken) for c in taken] == [(monitor["id"], runs_out, True)]
    checked = runs_out + datetime.timedelta(milliseconds=30)
    outcome = results.Outcome(monitor["id"], Result(checked, True, 200, 30, None), "here:1:alive", retaken=True)
    in_app(app, lambda s: results.record(s, [outcome]))
    [(next_check,)] = run_sql(app, select(Monitor.next_check_at).where(Monitor.id == monitor["id"]))
    assert next_check == checked + datetime.timedelta(seconds=15)  # not slot + 15 s, 0.6 s after it


def test_checks_in_flight_are_bounded(make_myapp, owner, target):
    client = make_myapp(**SCHEDULER, **{"monitors.max_concurrency": "2"})
    auth = owner[1]
    for _ in range(6):
        new_monitor(client, auth, url=target.url + "/slow?ms=700", interval=1, timeout=1)
    wait_until(lambda: len(target.hits_on("/slow")) >= 8, timeout=20)
    assert target.slow_most == 2


def test_lateness_is_kept_as_a_statistic(make_myapp, owner, target):
    client = make_myapp(**SCHEDULER)
    auth = owner[1]
    for _ in range(3):
        new_monitor(client, auth, url=target.url + "/ok", interval=1, timeout=1)
    token = {"Authorization": f"Bearer {SCHEDULER['metrics.token']}"}
    stats = wait_until(lambda: (s := client.get("/api/health", headers=token).json["scheduler"])["checks"] >= 6 and s)
    assert stats["running"] is True and stats["lateness_ms"]["of_checks"] >= 6
    assert 0 <= stats["lateness_ms"]["p50"] <= stats["lateness_ms"]["p99"] < 1000
    assert "scheduler" not in client.get("/api/health").json  # not for the public


def test_history_is_pruned_but_daily_rollups_stay(app, owner, testapp, target):
    auth = owner[1]
    monitor = new_monitor(testapp, auth, url=target.url + "/ok")
    testapp.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    old = utcnow() - datetime.timedelta(days=100)
    run_sql(app, update(CheckResult).values(at=old))
    run_sql(app, update(HourlyRollup).values(period=old))
    run_sql(app, update(DailyRollup).values(period=old))

    async def prune_all(session):
        now = utcnow()
        return await results.prune(session, now - datetime.timedelta(hours=48), now - datetime.timedelta(days=90))

    removed = [in_app(app, prune_all) for _ in range(3)]
    assert sum(removed) == 2 and removed[-1] == 0  # the raw result, then the hourly rollup
    for model, left in ((CheckResult, 0), (HourlyRollup, 0), (DailyRollup, 1)):
        assert run_sql(app, select(func.count()).select_from(model)) == [(left,)], model.__name__


def test_the_storm_window_keeps_one_minute_of_checks_only(monkeypatch):
    """The scheduler remembers the checks of the last minute, not every check it ever ran."""
    from myapp.checks import scheduler as module

    clock = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    scheduler = module.Scheduler()
    for n in range(300):
        clock[0] += 1
        scheduler.recent.append((clock[0], n, False))
        scheduler._forget_old()
    assert len(scheduler.recent) == module.STORM_WINDOW + 1
    for n in range(5):  # five monitors unreachable among 61 checks: not a storm
        scheduler.recent.append((clock[0], n, True))
    assert not scheduler.storming()
    for n in range(60):
        scheduler.recent.append((clock[0], n % 7, True))
    assert scheduler.storming()


def test_a_check_never_starts_before_its_time_when_the_timer_fires_early(monkeypatch):
    """A loop's timer may fire a millisecond before its time (uvloop counts milliseconds). A check that
    started early would be stamped before the slot it was claimed for, which would not move the schedule
    on, and the monitor would be checked again at once (three processes on uvloop did: twice in 0.3 s)."""
    import asyncio
    import types

    from myapp.checks import scheduler as module
    from myapp.checks.state import Result

    sleep = asyncio.sleep

    async def early(delay, *args):  # every timer fires 5 ms before its time
        await sleep(max(0.0, delay - 0.005), *args)

    started = []

    async def check(state, row):
        started.append(utcnow())
        return Result(at=started[-1], ok=True, status_code=200, latency_ms=1, error=None)

    monkeypatch.setattr(module.asyncio, "sleep", early)
    monkeypatch.setattr(module, "run_check", check)
    scheduler = module.Scheduler()

    async def one_check():
        scheduler._slots = asyncio.Semaphore(1)
        start = utcnow() + datetime.timedelta(milliseconds=30)
        await scheduler._check(
            types.SimpleNamespace(http=None, guard=None),
            claims.Claim(1, start, start, types.SimpleNamespace(user_id=1, claimed_by=None)),
        )
        return start

    start = asyncio.run(one_check())
    assert started == [started[0]] and started[0] >= start


def test_one_owners_slow_monitors_do_not_starve_anothers(make_myapp, owner, make_user, make_key, target):
    """Owner A's monitors hang for 6 s each (8 of them every 8 s: 6 checks at once would keep up); owner B's
    one monitor is still checked every second, and A never has more than its share of the checks in flight."""
    client = make_myapp(**SCHEDULER, **{"monitors.max_concurrency": "4", "monitors.max_concurrency_per_owner": "2"})
    for n in range(8):
        new_monitor(client, owner[1], url=f"{target.url}/slow?ms=6000&n={n}", interval=8, timeout=8)
    wait_until(lambda: target.slow_now == 2)  # A's share is taken
    other = {"Authorization": f"Bearer {make_key(make_user('bob@example.com'), 'write')[1]}"}
    new_monitor(client, other, url=target.url + "/ok", interval=1, timeout=1)
    hits = wait_until(lambda: (found := target.hits_on("/ok"))[5:] and found, timeout=30)
    gaps = [b["at"] - a["at"] for a, b in zip(hits, hits[1:])]
    assert max(gaps) < 3, gaps  # checked every interval, not after A's checks give up a slot (6 s)
    assert target.slow_most == 2


def test_a_check_in_flight_stops_when_its_monitor_is_deleted_or_paused(make_myapp, owner, target):
    client = make_myapp(**SCHEDULER)
    scheduler = find(client.app.registry, Monitoring).scheduler
    auth = owner[1]
    for change in ("delete", "pause"):
        monitor = new_monitor(client, auth, url=f"{target.url}/slow?ms=20000", interval=30, timeout=25, paused=True)
        client.patch_json(f"/api/monitors/{monitor['id']}", {"paused": False}, headers=auth)  # due within 5 s
        wait_until(lambda: scheduler.in_flight == 1, timeout=10)
        if change == "delete":
            client.delete(f"/api/monitors/{monitor['id']}", headers=auth, status=204)
        else:
            client.patch_json(f"/api/monitors/{monitor['id']}", {"paused": True}, headers=auth)
        wait_until(lambda: scheduler.in_flight == 0, timeout=5)  # not after the target's 20 s
    assert scheduler.stats()["checks_dropped"] == 2
    assert run_sql(client.app, "SELECT COUNT(*) FROM check_results") == [(0,)]


def test_results_that_cannot_be_written_are_kept_for_the_next_write(make_myapp, owner, target, monkeypatch):
    """The database refuses the first writes (as during a restart): the results are written later, once
    each, and no monitor is checked again because its result was lost."""
    import pymysql
    from sqlalchemy.exc import OperationalError

    from myapp.checks import scheduler as module

    real, refused = module.results.record, []

    async def record(session, outcomes, on_flips=(), rows=None, also=None):
        if len(refused) < 6:  # six flushes: the database is away each time (models.writes keeps the results)
            refused.append(len(outcomes))
            raise OperationalError("INSERT", {}, pymysql.err.OperationalError(2006, "MySQL server has gone away"))
        return await real(session, outcomes, on_flips, rows, also)

    monkeypatch.setattr(module.results, "record", record)
    client = make_myapp(**SCHEDULER)
    scheduler = find(client.app.registry, Monitoring).scheduler
    auth = owner[1]
    monitor = new_monitor(client, auth, url=target.url + "/ok", interval=60, timeout=5, paused=True)
    client.patch_json(f"/api/monitors/{monitor['id']}", {"paused": False}, headers=auth)  # due within 5 s
    wait_until(lambda: monitor_of(client, auth, monitor["id"])["last_check"], timeout=20)
    assert len(refused) == 6 and len(target.hits_on("/ok")) == 1
    assert client.get(f"/api/monitors/{monitor['id']}/results", headers=auth).json["results"][0]["ok"] is True
    assert scheduler.stats()["results_lost"] == 0
