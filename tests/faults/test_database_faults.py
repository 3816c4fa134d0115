"""The app under load while its database freezes, dies and restarts: 503/504 in time, never a 500, and back at once.

Run these alone with ``pytest -m faults``.
"""

import logging
import signal
import time

from myapp.ops.api import HEALTH_DEADLINE

from ..conftest import pserve
from ..helpers import wait_until
from .conftest import TIMEOUT, Load, fault_settings

GOOD = {200, 401, 429}  # answers of a working server to the load below


def mixed_load(token):
    return [
        ("GET", "/api/users/me", {"headers": {"Authorization": f"Bearer {token}"}}),  # identity lookup + read
        (
            "POST",
            "/api/tokens",
            {"json": {"email": "ada@example.com", "password": "not it, not it", "scope": "read"}},
        ),  # writes, and commits
        ("GET", "/api/health", {}),
        ("GET", "/api/tokens", {"headers": {"Authorization": f"Bearer {token}"}}),
    ]


def tracebacks_per_kind(log):
    """The most tracebacks that follow log lines of one kind (logger and message)."""
    counts, kind = {}, None
    for line in log.splitlines():
        if line.startswith(("ERROR:", "WARNING:", "CRITICAL:")):
            kind = line.split(" (")[0][:80]
            counts.setdefault(kind, 0)
        elif line.startswith("Traceback") and kind is not None:
            counts[kind] += 1
            kind = None  # a chained traceback belongs to the same record
    return max(counts.values(), default=0)


def test_a_frozen_database_gives_timely_503_or_504_and_recovers(fault_app, mariadb, serve, caplog):
    url = serve(fault_app, threads=8)
    with Load(url, mixed_load(fault_app.token)) as load:
        wait_until(lambda: len(load.results) > 50, 10)
        mariadb.freeze()
        frozen = time.monotonic()
        wait_until(lambda: time.monotonic() > frozen + 2 * TIMEOUT + 1, 10)  # longer than aio.timeout
        mariadb.thaw()
        thawed = time.monotonic()
        wait_until(lambda: len(load.between(thawed + 2, float("inf"))) > 50, 20)
    during = [r for r in load.results if r.started >= frozen + 0.1 and r.started + r.elapsed <= thawed]
    assert during and set(load.statuses(during)) <= {503, 504}, load.statuses(during)
    slowest = max(r.elapsed for r in load.results if r.path != "/api/health")
    assert slowest <= TIMEOUT + 1, slowest
    # health answers by its own deadline, shorter than a request's, with what a loaded machine adds to any answer
    # (four test workers on two cores: 0.29 s seen)
    health = [r.elapsed for r in load.results if r.path == "/api/health"]
    assert max(health) <= HEALTH_DEADLINE + 0.5, max(health)
    after = load.between(thawed + 2, float("inf"))
    assert set(load.statuses(after)) <= GOOD, load.statuses(after)  # recovered within 2 s of SIGCONT
    assert 500 not in load.statuses(load.results)


def test_a_dead_database_gives_503_and_one_log_line_per_event(fault_app, mariadb, serve, caplog):
    url = serve(fault_app, threads=8)
    with caplog.at_level(logging.WARNING), Load(url, mixed_load(fault_app.token)) as load:
        wait_until(lambda: len(load.results) > 50, 10)
        mariadb.kill()
        killed = time.monotonic()
        wait_until(lambda: time.monotonic() > killed + 3, 10)
        restarting = time.monotonic()
        mariadb.start()
        started = time.monotonic()
        wait_until(lambda: len(load.between(started + 2, float("inf"))) > 50, 20)
    outage = [r for r in load.results if r.started >= killed + 0.1 and r.started + r.elapsed <= restarting]
    assert len(outage) > 20 and set(load.statuses(outage)) == {503}, load.statuses(outage)
    after = load.between(started + 2, float("inf"))
    assert set(load.statuses(after)) <= GOOD, load.statuses(after)
    errors = [r for r in caplog.records if r.name == "myapp.errors"]
    failed = sum(1 for r in load.results if r.status == 503)
    assert len(errors) <= failed  # one line per event, no more
    assert sum(1 for r in caplog.records if r.exc_info) <= 4  # a traceback per kind per minute, not per request
    assert not [r for r in caplog.records if r.name == "myapp.errors" and "unhandled" in r.getMessage()]


def test_a_restart_while_idle_costs_no_request(fault_app, mariadb, serve):
    url = serve(fault_app, threads=8)
    with Load(url, mixed_load(fault_app.token)) as load:  # every thread's pool holds live connections
        wait_until(lambda: len(load.results) > 100, 10)
    mariadb.restart()
    # back, and its tables read once: on a loaded machine a cold InnoDB may take longer than the 2 s
    # deadline for its first pages, which is not what this test is about (stale pooled connections)
    with mariadb.connect(database=mariadb.database) as conn, conn.cursor() as cur:
        for table in ("users", "api_keys", "web_sessions", "throttle_hits"):
            cur.execute(f"SELECT COUNT(*) FROM {table}")
    with Load(url, mixed_load(fault_app.token)) as after:
        wait_until(lambda: len(after.results) > 100, 10)
    assert set(after.statuses(after.results)) <= GOOD, after.statuses(after.results)


def test_sigterm_during_a_freeze_stops_in_time_and_answers_503(fault_app, mariadb, tmp_path):
    settings = fault_settings(
        mariadb,
        **{
            "aio.handle_sigterm": "true",
            "aio.shutdown_timeout": "4",
            "aio.timeout": "30",
            "sqlalchemy.statement_timeout": "30",
        },
    )
    with pserve(tmp_path, settings) as (url, server):
        try:
            with Load(
                url, [("GET", "/api/users/me", {"headers": {"Authorization": f"Bearer {fault_app.token}"}})], workers=3
            ) as load:
                wait_until(lambda: len(load.results) > 10, 10)
                mariadb.freeze()
                frozen = time.monotonic()
                wait_until(lambda: time.monotonic() > frozen + 1, 5)  # requests are now stuck in flight
                stopping = time.monotonic()
                server.send_signal(signal.SIGTERM)
                server.wait(4 + 5)
                stopped = time.monotonic()
            assert stopped - stopping <= 4 + 5
            in_flight = [r for r in load.results if r.started < stopping < r.started + r.elapsed]
            assert in_flight and {r.status for r in in_flight} == {503}, [r.status for r in in_flight]
            assert tracebacks_per_kind(server.stderr.read().decode()) <= 1
        finally:
            mariadb.thaw()
