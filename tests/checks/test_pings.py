"""Pings under hostile input: OK means stored; a ping the database refuses is answered 422 and shown to its
owner while the rest of its batch is stored; bodies and run times that once broke a batch are stored; the
limits hold across processes; unknown tokens cost no lookup after the first.  On SQLite and MariaDB."""

import datetime

import pytest
from sqlalchemy import func, select, text, update

from myapp.aio import loop_state
from myapp.checks.pings import Incoming, Pinger
from myapp.checks.state import Result
from myapp.identity import token_hash
from myapp.models import Monitor, Ping, writes
from myapp.models.meta import utcnow
from myapp.models.monitor import RECENT_LENGTH, with_recent
from myapp.services import find

from ..conftest import in_app
from ..helpers import wait_until
from ..monitors.conftest import new_monitor
from .test_heartbeat import PING, get, path_of, pings

POISON = {
    "sqlite": [
        "CREATE TRIGGER pings_poison BEFORE INSERT ON pings WHEN NEW.body = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'this body is poison'); END"
    ],
    "mysql": [
        "CREATE TRIGGER pings_poison BEFORE INSERT ON pings FOR EACH ROW BEGIN "
        "IF NEW.body = 'poison' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'this body is poison'; END IF; END"
    ],
}


@pytest.fixture
def poisoned_pings(app, backend):
    """A trigger that refuses a ping whose body is "poison": a row the database refuses for its own reason."""
    in_app(app, lambda s: s.execute(text("DROP TRIGGER IF EXISTS pings_poison")))
    for statement in POISON[backend]:
        in_app(app, lambda s, statement=statement: s.execute(text(statement)))
    yield
    in_app(app, lambda s: s.execute(text("DROP TRIGGER IF EXISTS pings_poison")))


def stored_pings(app, monitor_id):
    return in_app(app, lambda s: s.scalar(select(func.count()).select_from(Ping).where(Ping.monitor_id == monitor_id)))


def test_ok_means_stored(api, app):
    client, headers = api
    monitor = new_monitor(client, headers, **PING)
    for n in range(1, 4):
        assert client.get(path_of(monitor)).text == "OK\n"
        assert stored_pings(app, monitor["id"]) == n  # at once: no waiting for a later batch


def test_a_refused_ping_is_422_and_shown_to_its_owner_and_its_batch_is_stored(make_myapp, owner, poisoned_pings):
    """Pings of three monitors handed to the writer at once (one batch), one of them refused by the database:
    the others are stored and answered OK; the refused one is answered "refused" and its monitor shows why."""
    client, headers = make_myapp(**{"monitors.ping_writers": "1"}), owner[1]
    app = client.app
    monitors = [new_monitor(client, headers, name=f"job {n}", **PING) for n in range(3)]
    tokens = [m["ping_url"].rsplit("/", 1)[1] for m in monitors]
    pinger = find(app.registry, Pinger)

    now = utcnow()
    batch = [
        Incoming(token_hash(tokens[n % 3]), "success", None, "POST", "127.0.0.1", body, now)
        for n, body in enumerate(["fine"] * 4 + ["poison"] + ["fine"] * 4)
    ]
    batches = len(pinger.batches)
    # handed over in one callback of the service loop: all of them wait when the writer looks
    call_soon = app.registry.aio_runtime.call_soon
    call_soon(lambda: [pinger.hand_over(ping, call_soon) for ping in batch])
    answers = [wait_until(lambda ping=ping: ping.answer).result(10) for ping in batch]
    assert answers == ["ok"] * 4 + ["refused"] + ["ok"] * 4
    assert len(pinger.batches) == batches + 1  # one batch, not nine
    assert [stored_pings(app, m["id"]) for m in monitors] == [3, 2, 3]
    refused = client.get(f"/api/monitors/{monitors[1]['id']}/refused", headers=headers).json["refused"]
    assert [(r["what"], r["error"]) for r in refused] == [("ping", "this body is poison")]
    assert client.get(f"/api/monitors/{monitors[0]['id']}/refused", headers=headers).json["refused"] == []
    page = client.get(f"/monitors/{monitors[1]['id']}", headers=headers)
    assert "this body is poison" in page.html.find(id="refused").text
    # through HTTP: the sender is told, in words that say nothing of the monitor
    res = client.post(path_of(monitors[2]), "poison", status=422)
    assert res.text == "this ping could not be stored; its monitor's page says why\n"


def test_bodies_are_bounded_in_bytes_as_stored(make_myapp, owner):
    """0xFF bytes become U+FFFD, three bytes each: cut after that, they still fit the column (MariaDB's TEXT
    holds 65,535 bytes: 30,000 of them were 90,000); four-byte characters are kept whole."""
    client = make_myapp(**{"monitors.ping_body_bytes": "30000"})
    headers = owner[1]
    monitor = new_monitor(client, headers, **PING)
    for body in (b"\xff" * 30000, "🙂".encode() * 7600, b"ok " + b"\xe2\x82" + b"\x00tail"):
        client.post(path_of(monitor), body, headers={"Content-Type": "application/octet-stream"})
    bodies = [p["body"] for p in pings(client, headers, monitor)]
    assert bodies[0] == "ok \ufffdtail"  # the broken sequence replaced, the NUL gone
    assert bodies[1] == "🙂" * 7500 and len(bodies[1].encode()) == 30000
    assert bodies[2] == "\ufffd" * 10000 and len(bodies[2].encode()) == 30000


def test_long_runs_fill_recent_without_overflowing_it(api, app):
    """Runs of 2 h 47 min and more: 30 run times of eight digits once overflowed VARCHAR(255) on the 29th."""
    client, headers = api
    monitor = new_monitor(client, headers, **PING)
    for _ in range(30):  # the limit a minute; the 29th overflowed
        in_app(
            app,
            lambda s: s.execute(
                update(Monitor)
                .where(Monitor.id == monitor["id"])
                .values(run_started_at=utcnow() - datetime.timedelta(hours=23, minutes=59))
            ),
        )
        assert client.get(path_of(monitor)).text == "OK\n"
    recent = in_app(app, lambda s: s.scalar(select(Monitor.recent).where(Monitor.id == monitor["id"])))
    assert len(recent) <= RECENT_LENGTH and recent.split(",")[-1].startswith("863")  # 86,340,000 ms
    assert client.get(f"/api/monitors/{monitor['id']}/refused", headers=headers).json["refused"] == []


def test_recent_keeps_the_newest_points_that_fit():
    recent = ""
    for latency in [12] * 20 + [99_999_999] * 40:
        recent = with_recent(recent, Result(utcnow(), False, None, latency, "x"))
    assert len(recent) <= RECENT_LENGTH and set(recent.split(",")) == {"!99999999"} and len(recent.split(",")) == 25


def test_the_limit_a_minute_holds_across_processes(make_myapp, owner):
    first = make_myapp(**{"monitors.pings_per_minute": "4"})
    second = make_myapp(**{"monitors.pings_per_minute": "4"})
    headers = owner[1]
    monitor = new_monitor(first, headers, **PING)
    assert [first.get(path_of(monitor)).status_int for _ in range(2)] == [200, 200]
    assert [second.get(path_of(monitor)).status_int for _ in range(2)] == [200, 200]
    for client in (first, second):
        res = client.get(path_of(monitor), status=429)
        assert res.text == "too many pings: at most 4 a minute\n"
    assert len(pings(first, headers, monitor)) == 4


def test_a_monitor_keeps_its_newest_pings(make_myapp, owner, app):
    client = make_myapp(**{"monitors.pings_kept": "5"})
    headers = owner[1]
    monitor, other = new_monitor(client, headers, **PING), new_monitor(client, headers, name="other", **PING)
    client.get(path_of(other))
    for n in range(12):
        client.post(path_of(monitor), f"run {n}")
    assert [p["body"] for p in pings(client, headers, monitor)] == [f"run {n}" for n in range(11, 6, -1)]
    assert stored_pings(app, monitor["id"]) == 5 and stored_pings(app, other["id"]) == 1


def test_unknown_tokens_are_remembered_and_limited_per_client(make_myapp, app):
    client = make_myapp(**{"monitors.ping_misses_per_minute": "3"})
    pinger = find(client.app.registry, Pinger)
    unknown = "/ping/00000000-0000-4000-8000-00000000000{}"
    client.get(unknown.format(1), status=404)
    batches = len(pinger.batches)
    client.get(unknown.format(1), status=404)  # remembered: no lookup
    assert len(pinger.batches) == batches
    client.get(unknown.format(2), status=404)
    assert len(pinger.batches) == batches + 1
    res = client.get(unknown.format(3), status=429)  # the client's fourth unknown token this minute
    assert res.text == "too many unknown tokens: at most 3 a minute\n" and res.headers["Retry-After"] == "60"
    assert len(pinger.batches) == batches + 1


def test_a_deleted_monitors_token_is_refused_by_every_process_at_once(make_myapp, owner):
    first, second = make_myapp(), make_myapp()
    headers = owner[1]
    monitor = new_monitor(first, headers, **PING)
    assert first.get(path_of(monitor)).text == second.get(path_of(monitor)).text == "OK\n"
    first.delete(f"/api/monitors/{monitor['id']}", headers=headers)
    second.get(path_of(monitor), status=404)
    first.get(path_of(monitor), status=404)


def test_refused_results_are_shown_and_the_claim_ends(app, api, backend):
    """A scheduler's result the database refuses (here: a trigger on check_results) is recorded on its
    monitor, its claim ends with the next check on the schedule, and the other results are written."""
    from myapp.checks import claims, results
    from myapp.checks.scheduler import Scheduler

    client, headers = api
    monitors = [new_monitor(client, headers, name=f"m{n}", url="http://127.0.0.1:9/", interval=60) for n in range(3)]
    bad = monitors[1]["id"]
    trigger = {
        "sqlite": f"CREATE TRIGGER results_poison BEFORE INSERT ON check_results WHEN NEW.monitor_id = {bad} "
        "BEGIN SELECT RAISE(ABORT, 'no results for this one'); END",
        "mysql": "CREATE TRIGGER results_poison BEFORE INSERT ON check_results FOR EACH ROW BEGIN "
        f"IF NEW.monitor_id = {bad} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no results for this one'; "
        "END IF; END",
    }[backend]
    slot = in_app(app, lambda s: s.scalar(select(Monitor.next_check_at).where(Monitor.id == bad)))
    in_app(app, lambda s: s.execute(text(trigger)))
    try:

        async def claim_check_and_write():  # as the scheduler does, with its own writing of results
            state = loop_state()
            far = datetime.timedelta(days=1)
            scheduler.owner = "test-owner"
            taken, _ = await writes.in_session(state, lambda s: claims.claim(s, scheduler.owner, 10, far))
            scheduler._results = [
                results.Outcome(c.monitor_id, Result(c.start_at, True, 200, 5, None), scheduler.owner) for c in taken
            ]
            await scheduler._flush(state)

        scheduler = Scheduler()
        app.registry.aio_runtime.run(claim_check_and_write())
    finally:
        in_app(app, lambda s: s.execute(text("DROP TRIGGER IF EXISTS results_poison")))
    assert scheduler.refused == 1 and scheduler._results == []
    assert [get(client, headers, m)["state"] for m in monitors] == ["UP", "PENDING", "UP"]
    refused = client.get(f"/api/monitors/{bad}/refused", headers=headers).json["refused"]
    assert [(r["what"], r["error"]) for r in refused] == [("result", "no results for this one")]
    row = in_app(app, lambda s: s.execute(select(Monitor.claimed_by, Monitor.due_at).where(Monitor.id == bad))).one()
    assert row.claimed_by is None and row.due_at == slot + datetime.timedelta(seconds=60)  # the next on the schedule


@pytest.fixture
def api(testapp, owner):
    return testapp, owner[1]


def test_a_batch_costs_the_same_statements_for_one_monitor_as_for_twenty(make_myapp, owner, commands):
    """A batch's monitors are moved on in one statement, not one per monitor (models.bulk), their results
    and their pings' columns together, and its owner's maintenance windows are looked up only when it has
    some: one SELECT and one UPDATE in all, on MariaDB."""
    client, headers = make_myapp(**{"monitors.max_per_user": "0"}), owner[1]
    app, pinger = client.app, find(client.app.registry, Pinger)
    hashes = [
        token_hash(path_of(new_monitor(client, headers, name=f"job {n}", **PING)).rsplit("/", 1)[1]) for n in range(20)
    ]

    def sent(count):
        at = utcnow()
        batch = [Incoming(h, "success", None, "GET", None, None, at) for h in hashes[:count]]
        in_app(app, lambda s: pinger.write(s, batch))  # warm: the statements compiled, the connection open
        commands.clear()
        in_app(app, lambda s: pinger.write(s, batch))
        return list(commands)

    one = sent(1)
    assert one.count("SELECT") == 1 and one.count("UPDATE") == 1 and one[-1] == "COMMIT"
    assert sent(20) == one
