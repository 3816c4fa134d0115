"""OK means stored, whatever happens to the database or the process: pings while the database is away get
503 and are not kept; a process stopped with SIGTERM or killed with SIGKILL while the database is frozen and
pings wait for it has stored every ping it answered OK.  On a private mariadbd (tests/faults/mariadb.py)."""

import collections
import signal
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select

from myapp.models import Monitor, Ping, User, run_in_session
from myapp.monitors import service
from myapp.monitors.schema import validate

from ..conftest import pserve
from ..helpers import wait_until
from .conftest import Load, fault_settings


def heartbeats(app, count):
    async def make(session):
        owner = await session.scalar(select(User.id).where(User.email == "ada@example.com"))
        fields = validate({"name": "job", "kind": "heartbeat", "interval": 3600}, {})
        return [(await service.create_monitor(session, owner, fields)).ping_token for _ in range(count)]

    return run_in_session(app.registry, make)


def stored(app):
    """{ping token: pings stored}."""

    async def count(session):
        rows = await session.execute(
            select(Monitor.ping_token, func.count(Ping.id))
            .join(Ping, Ping.monitor_id == Monitor.id)
            .group_by(Monitor.id)
        )
        return dict(rows.all())

    return run_in_session(app.registry, count)


def ping(url, token):
    try:
        with urllib.request.urlopen(f"{url}/ping/{token}", timeout=10) as res:
            return res.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_pings_get_503_while_the_database_is_away_and_nothing_of_them_is_kept(fault_app, mariadb, serve):
    url = serve(fault_app, threads=4)
    (token,) = heartbeats(fault_app, 1)
    assert ping(url, token) == 200 and stored(fault_app) == {token: 1}
    mariadb.kill()
    try:
        assert [ping(url, token) for _ in range(3)] == [503] * 3
    finally:
        mariadb.start()
    wait_until(lambda: ping(url, token) == 200, 20)
    assert stored(fault_app) == {token: 2}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_every_ping_answered_ok_is_stored_when_the_process_stops_during_an_outage(fault_app, mariadb, tmp_path, stop):
    """The database freezes while pings come; the process is stopped while pings wait for it.  Pings answered
    OK before: every one stored.  Pings waiting: answered 503 (SIGTERM) or not at all (SIGKILL)."""
    tokens = heartbeats(fault_app, 6)
    settings = fault_settings(
        mariadb,
        **{"aio.handle_sigterm": "true", "aio.shutdown_timeout": "4", "monitors.pings_per_minute": "100000"},
    )
    with pserve(tmp_path, settings, threads=8) as (url, server):
        try:
            paths = [("POST", f"/ping/{token}", {"data": b"a run's output"}) for token in tokens]
            with Load(url, paths, workers=8) as load:
                wait_until(lambda: sum(r.status == 200 for r in load.results) > 100, 20)
                mariadb.freeze()
                frozen = time.monotonic()
                wait_until(lambda: time.monotonic() > frozen + 1, 5)  # every worker's ping waits for its batch
                answered_frozen = [r for r in list(load.results) if r.started > frozen + 0.1]
                stopping = time.monotonic()
                server.send_signal(stop)
                server.wait(20)
            answered = [r for r in load.results if r.started + r.elapsed <= stopping + 20]
        finally:
            mariadb.thaw()
    ok = collections.Counter(r.path.rsplit("/", 1)[1] for r in answered if r.status == 200)
    counts = stored(fault_app)
    assert sum(ok.values()) > 100
    lost = {token: ok[token] - counts.get(token, 0) for token in tokens if counts.get(token, 0) < ok[token]}
    assert lost == {}, f"answered OK and not stored: {lost}"
    assert answered_frozen == []  # nothing sent after the freeze was answered: each waits for its write
    waited = [r for r in load.results if r.started < stopping < r.started + r.elapsed]
    assert len(waited) == 8, waited  # every worker had a ping waiting when the signal came
    if stop == signal.SIGTERM:
        assert {r.status for r in waited} == {503}, collections.Counter(r.status for r in waited)
