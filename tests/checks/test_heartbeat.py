"""Heartbeat monitors: pinged, not checked.  Pings through the real app; lateness noticed by the scheduler."""

import datetime

import pytest

from myapp.checks.kinds.heartbeat import next_fire
from myapp.checks.pings import Pinger
from myapp.services import find

from ..helpers import wait_until
from ..monitors.conftest import new_monitor

PING = {"kind": "heartbeat", "interval": 60, "grace": 30}


@pytest.fixture
def api(testapp, owner):
    return testapp, owner[1]


def path_of(monitor):
    return monitor["ping_url"].removeprefix("http://localhost")


def get(client, headers, monitor):
    return client.get(f"/api/monitors/{monitor['id']}", headers=headers).json


def pings(client, headers, monitor):
    return client.get(f"/api/monitors/{monitor['id']}/pings", headers=headers).json["pings"]


def send(client, headers, monitor, suffix="", body=None, method="get"):
    """Ping, and wait for the ping to be written (a token the process knows is answered first)."""
    count = len(pings(client, headers, monitor))
    call = getattr(client, method)
    res = call(path_of(monitor) + suffix) if body is None else call(path_of(monitor) + suffix, body)
    wait_until(lambda: len(pings(client, headers, monitor)) > count, timeout=10)
    return res


def test_a_ping_makes_a_heartbeat_up_and_moves_its_deadline(api):
    client, headers = api
    monitor = new_monitor(client, headers, name="nightly backup", **PING)
    assert monitor == {**monitor, "state": "PENDING", "failures_to_down": 1, "url": None, "last_check": None}
    assert monitor["ping_url"].startswith("http://localhost/ping/") and len(path_of(monitor)) == len("/ping/") + 36
    res = client.get(path_of(monitor))
    assert res.text == "OK\n" and res.content_type == "text/plain"
    after = get(client, headers, monitor)
    assert after["state"] == "UP" and after["last_check"]["ok"] is True
    assert pings(client, headers, monitor)[0] == {
        **pings(client, headers, monitor)[0],
        "event": "success",
        "method": "GET",
        "exit_status": None,
        "duration_ms": None,
        "body": None,
    }
    assert len(client.get(f"/api/monitors/{monitor['id']}/results", headers=headers).json["results"]) == 1


def test_start_then_success_gives_the_run_time_and_failures_go_down_at_once(api):
    client, headers = api
    monitor = new_monitor(client, headers, **PING)
    send(client, headers, monitor, "/start", "starting", "post")
    send(client, headers, monitor, "", "done: 42 files", "post")
    newest = pings(client, headers, monitor)
    assert [p["event"] for p in newest] == ["success", "start"]
    assert newest[0]["body"] == "done: 42 files" and newest[0]["duration_ms"] >= 0
    assert send(client, headers, monitor, "/fail", "disk full", "post").text == "OK\n"
    down = get(client, headers, monitor)
    assert down["state"] == "DOWN" and down["last_check"]["error"] == "the job reported a failure"
    send(client, headers, monitor, "/0")
    assert get(client, headers, monitor)["state"] == "UP"
    send(client, headers, monitor, "/3", method="head")
    down = get(client, headers, monitor)
    assert down["state"] == "DOWN" and down["last_check"]["error"] == "the job reported a failure (exit status 3)"
    incidents = client.get(f"/api/monitors/{monitor['id']}/incidents", headers=headers).json["incidents"]
    assert [i["cause"] for i in incidents] == [
        "the job reported a failure (exit status 3)",
        "the job reported a failure",
    ]


def test_a_ping_says_nothing_but_ok_or_not_found(api):
    client, headers = api
    monitor = new_monitor(client, headers, **PING)
    missing = client.get("/ping/00000000-0000-4000-8000-000000000000", status=404)
    assert missing.text == "not found\n"
    client.get("/ping/not-a-token", status=404)
    client.get(path_of(monitor) + "/256", status=404)  # an exit status is 0-255... of three digits at most
    client.get(path_of(monitor) + "/1000", status=404)
    client.put(path_of(monitor), status=405)
    assert client.get(path_of(monitor).upper().replace("/PING/", "/ping/")).text == "OK\n"  # the token, any case
    http = new_monitor(client, headers, url="http://127.0.0.1:9/")
    assert http["ping_url"] is None


def test_pings_are_limited_per_monitor_and_bodies_bounded(make_myapp, owner):
    client = make_myapp(**{"monitors.pings_per_minute": "3", "monitors.ping_body_bytes": "10"})
    headers = owner[1]
    monitor, other = new_monitor(client, headers, **PING), new_monitor(client, headers, name="other", **PING)
    for _ in range(3):
        client.post(path_of(monitor), "x" * 1000)
    limited = client.get(path_of(monitor), status=429)
    assert limited.text == "too many pings: at most 3 a minute\n" and limited.headers["Retry-After"] == "60"
    client.get(path_of(other))  # another monitor's budget is its own
    wait_until(lambda: len(pings(client, headers, monitor)) == 3)
    assert all(p["body"] == "x" * 10 for p in pings(client, headers, monitor))


def test_a_paused_heartbeat_takes_pings_and_stays_paused(api):
    client, headers = api
    monitor = new_monitor(client, headers, paused=True, **PING)
    send(client, headers, monitor)
    send(client, headers, monitor)
    assert get(client, headers, monitor)["state"] == "PAUSED" and len(pings(client, headers, monitor)) == 2


def test_a_heartbeat_cannot_be_checked_on_demand(api):
    client, headers = api
    monitor = new_monitor(client, headers, **PING)
    res = client.post(f"/api/monitors/{monitor['id']}/check", headers=headers, status=409)
    assert "checked by its pings" in res.json["message"]


def test_heartbeat_fields_are_checked(api):
    client, headers = api
    cases = [
        ({"cron": "0 3 * *"}, "cron"),
        ({"cron": "0 3 * * * *"}, "cron"),
        ({"cron": "61 3 * * *"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),  # never comes
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"grace": 0}, "grace"),
        ({"interval": 31 * 86400}, "interval"),
    ]
    for fields, field in cases:
        res = client.post_json("/api/monitors", {"name": "x", **PING, **fields}, headers=headers, status=422)
        assert list(res.json["fields"]) == [field], fields
    weekly = new_monitor(client, headers, **{**PING, "interval": 7 * 86400})
    assert weekly["interval"] == 7 * 86400
    res = client.post_json(
        "/api/monitors", {"name": "x", "url": "http://a.example/", "interval": 2 * 86400}, headers=headers, status=422
    )
    assert res.json["fields"] == {"interval": "at most 86400 seconds"}


def test_cron_deadlines_follow_the_time_zone():
    after = datetime.datetime(2026, 3, 28, 12, 0)  # UTC; Paris moves to summer time on the 29th at 02:00
    assert next_fire("0 3 * * *", "Europe/Paris", after) == datetime.datetime(2026, 3, 29, 1, 0)
    assert next_fire("0 3 * * *", "Europe/Paris", datetime.datetime(2026, 3, 29, 1, 0)) == datetime.datetime(
        2026, 3, 30, 1, 0
    )
    assert next_fire("30 2 * * 1", None, after) == datetime.datetime(2026, 3, 30, 2, 30)
    assert next_fire("0 0 30 2 *", None, after) == after + datetime.timedelta(days=1)  # none: a day later


def test_a_late_heartbeat_goes_down_once_and_a_ping_brings_it_up(make_myapp, owner):
    client = make_myapp(**{"monitors.scheduler": "true"})
    headers = owner[1]
    monitor = new_monitor(client, headers, kind="heartbeat", interval=1, grace=1)
    wait_until(lambda: get(client, headers, monitor)["state"] == "DOWN", timeout=15)
    down = get(client, headers, monitor)
    assert down["last_check"]["error"].startswith("no ping since it was expected at ")
    send(client, headers, monitor)
    wait_until(lambda: get(client, headers, monitor)["state"] == "UP", timeout=15)
    wait_until(lambda: get(client, headers, monitor)["state"] == "DOWN", timeout=15)  # late again
    incidents = client.get(f"/api/monitors/{monitor['id']}/incidents", headers=headers).json["incidents"]
    assert len(incidents) == 2 and incidents[1]["ended_at"] is not None


def test_pings_answered_at_once_are_all_written_in_order(api, app):
    """A token the process knows is answered before its ping is written; many pings of one monitor written
    in one batch are applied in the order they came (their results, the incidents they open and close)."""
    client, headers = api
    hook = client.post_json(
        "/api/channels", {"name": "hook", "kind": "webhook", "target": "http://127.0.0.1:9/hook"}, headers=headers
    ).json
    monitor = new_monitor(client, headers, channels=[hook["id"]], **PING)
    send(client, headers, monitor)  # the first: looked up and written before the answer
    for suffix in ("/fail", "/1", "", "/fail", "/0", "/fail") * 4:  # within its 30 pings a minute
        assert client.get(path_of(monitor) + suffix).text == "OK\n"
    wait_until(
        lambda: (
            len(client.get(f"/api/monitors/{monitor['id']}/results?limit=100", headers=headers).json["results"]) == 25
        )
    )
    results = client.get(f"/api/monitors/{monitor['id']}/results?limit=100", headers=headers).json["results"]
    assert [r["ok"] for r in reversed(results)] == [True] + [False, False, True, False, True, False] * 4
    incidents = client.get(f"/api/monitors/{monitor['id']}/incidents?limit=100", headers=headers).json["incidents"]
    # DOWN at the first failure of each run of them, UP at each success: 9 incidents, the last still open
    assert len(incidents) == 9 and [i["ended_at"] is None for i in incidents] == [True] + [False] * 8
    assert get(client, headers, monitor)["state"] == "DOWN"
    assert find(app.registry, Pinger).stats()["written"] >= 25
    # an alert for each flip, in order, however the batches fell (the first ping: PENDING to UP, no alert)
    deliveries = client.get(f"/api/channels/{hook['id']}/deliveries", headers=headers).json["deliveries"]
    assert [d["event"] for d in sorted(deliveries, key=lambda d: d["id"])] == ["down"] + ["up", "down"] * 8
