"""A request whose transaction loses to another (a deadlock; on Galera, another node's commit) runs again
from the start, on a fresh session: once written, never half-written; past retry.attempts, a 503."""

import pymysql
from sqlalchemy.exc import OperationalError

from myapp.monitors import service
from myapp.ops.metrics import Metrics
from myapp.services import find

from ..monitors.conftest import run_sql


def lost_once(monkeypatch, times=1):
    """service.create_monitor writes its row, then its transaction loses ``times`` times (error 1213)."""
    real, calls = service.create_monitor, []

    async def create(session, *args, **kwargs):
        monitor = await real(session, *args, **kwargs)
        calls.append(monitor.id)
        if len(calls) <= times:
            error = pymysql.err.OperationalError(
                1213, "Deadlock found when trying to get lock; try restarting transaction"
            )
            raise OperationalError("COMMIT", {}, error)
        return monitor

    monkeypatch.setattr(service, "create_monitor", create)
    return calls


def test_a_request_that_lost_runs_again_and_writes_once(testapp, owner, app, monkeypatch):
    calls = lost_once(monkeypatch)
    made = testapp.post_json("/api/monitors", {"name": "m", "url": "http://127.0.0.1:9/"}, headers=owner[1], status=201)
    assert len(calls) == 2  # the first attempt's row was rolled back with it
    assert run_sql(app, "SELECT id, name FROM monitors") == [(made.json["id"], "m")]
    assert find(app.registry, Metrics).retries._value.get() >= 1


def test_past_its_attempts_it_is_a_503_and_nothing_is_written(testapp, owner, app, monkeypatch):
    calls = lost_once(monkeypatch, times=3)
    res = testapp.post_json("/api/monitors", {"name": "m", "url": "http://127.0.0.1:9/"}, headers=owner[1], status=503)
    assert len(calls) == 3 and res.json["message"] and res.headers["Retry-After"]
    assert run_sql(app, "SELECT COUNT(*) FROM monitors") == [(0,)]


def test_a_form_that_lost_is_read_again_from_the_start(owner, browser, app, monkeypatch):
    from myapp.maintenance import service as windows

    real, calls = windows.create_window, []

    async def create(session, *args, **kwargs):
        window = await real(session, *args, **kwargs)
        calls.append(window.id)
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, pymysql.err.OperationalError(1213, "Deadlock found"))
        return window

    monkeypatch.setattr(windows, "create_window", create)
    client = browser("ada@example.com")
    token = client.get("/maintenance").html.find("input", {"name": "csrf_token"})["value"]
    form = {"name": "move", "kind": "once", "starts_at": "2026-12-01T22:00", "ends_at": "2026-12-01T23:30"}
    client.post("/maintenance", {**form, "csrf_token": token}, status=302)
    assert len(calls) == 2 and run_sql(app, "SELECT name FROM maintenance_windows") == [("move",)]
