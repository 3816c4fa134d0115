"""Three app processes on one MariaDB, each with its scheduler and outbox: one state change, one delivery
per channel."""

import json
from collections import Counter

import pytest

from ..conftest import pserve
from ..helpers import wait_until
from .conftest import deliveries, new_channel, new_monitor

MONITORS = 5


def test_three_processes_send_each_alert_once(app_settings, backend, testapp, owner, target, smtp, tmp_path):
    if backend != "mysql":
        pytest.skip("several processes share a MariaDB; SQLite serves one")
    _, auth, _ = owner
    mailbox, port = smtp
    hook = new_channel(testapp, auth, kind="webhook", target=target.url + "/hook")
    mail = new_channel(testapp, auth, kind="email", target="oncall@example.com")
    for n in range(MONITORS):
        new_monitor(
            testapp,
            auth,
            name=f"m{n}",
            url=f"{target.url}/m/{n}",
            interval=1,
            timeout=1,
            failures_to_down=1,
            channels=[hook["id"], mail["id"]],
        )
    settings = {
        **app_settings,
        "monitors.scheduler": "true",
        "alerts.outbox": "true",
        "smtp.host": "127.0.0.1",
        "smtp.port": str(port),
        "aio.debug": "false",
        "myapp.create_schema": "false",
    }

    def events():
        return Counter(
            (body["event"], body["monitor"]["name"])
            for body in (json.loads(h["body"]) for h in target.hits_on("/hook"))
        )

    with pserve(tmp_path, settings), pserve(tmp_path, settings), pserve(tmp_path, settings):
        wait_until(lambda: all(target.hits_on(f"/m/{n}") for n in range(MONITORS)), timeout=20)
        target.flip_status = 500  # every monitor goes DOWN at its next check
        wait_until(lambda: sum(n for (e, _), n in events().items() if e == "down") >= MONITORS, timeout=20)
        target.flip_status = 200
        wait_until(lambda: sum(n for (e, _), n in events().items() if e == "up") >= MONITORS, timeout=20)
        wait_until(lambda: len(mailbox.messages) >= 2 * MONITORS, timeout=20)
        wait_until(lambda: all(d["status"] == "sent" for c in (hook, mail) for d in deliveries(testapp, auth, c)))
    assert events() == Counter({(e, f"m{n}"): 1 for n in range(MONITORS) for e in ("down", "up")})
    subjects = Counter(m["message"]["Subject"] for m in mailbox.messages)
    assert subjects == Counter({f"myapp: m{n} is {s}": 1 for n in range(MONITORS) for s in ("DOWN", "back UP")})
    assert len(deliveries(testapp, auth, hook)) == len(deliveries(testapp, auth, mail)) == 2 * MONITORS


def test_three_processes_notice_each_late_heartbeat_once(app_settings, backend, testapp, owner, target, tmp_path):
    """Pings sent to three processes in turn, then none: each heartbeat is DOWN once, with one alert."""
    if backend != "mysql":
        pytest.skip("several processes share a MariaDB; SQLite serves one")
    import urllib.request

    _, auth, _ = owner
    hook = new_channel(testapp, auth, kind="webhook", target=target.url + "/hook")
    monitors = [
        new_monitor(testapp, auth, name=f"job{n}", kind="heartbeat", interval=600, grace=1, channels=[hook["id"]])
        for n in range(MONITORS)
    ]
    settings = {
        **app_settings,
        "monitors.scheduler": "true",
        "alerts.outbox": "true",
        "aio.debug": "false",
        "myapp.create_schema": "false",
    }

    def events():
        return Counter(
            (body["event"], body["monitor"]["name"])
            for body in (json.loads(h["body"]) for h in target.hits_on("/hook"))
        )

    def ping(url, monitor):
        path = monitor["ping_url"].removeprefix("http://localhost")
        with urllib.request.urlopen(url + path, timeout=10) as res:
            assert res.read() == b"OK\n"

    with (
        pserve(tmp_path, settings) as (a, _),
        pserve(tmp_path, settings) as (b, _),
        pserve(tmp_path, settings) as (c, _),
    ):
        for n, monitor in enumerate(monitors):  # due every 2 s from now on (not late while the processes started)
            testapp.patch_json(f"/api/monitors/{monitor['id']}", {"interval": 2}, headers=auth)
            ping((a, b, c)[n % 3], monitor)  # UP, each through another process than the next
        wait_until(lambda: sum(n for (e, _), n in events().items() if e == "down") >= MONITORS, timeout=30)
        # late on: checked again each interval, still DOWN, nothing more to say
        before = testapp.get(f"/api/monitors/{monitors[0]['id']}/results", headers=auth).json["results"]
        wait_until(
            lambda: (
                len(testapp.get(f"/api/monitors/{monitors[0]['id']}/results", headers=auth).json["results"])
                >= len(before) + 2
            ),
            timeout=30,
        )
        for n, monitor in enumerate(monitors):  # pinged again, and not late again before the end
            testapp.patch_json(f"/api/monitors/{monitor['id']}", {"interval": 600}, headers=auth)
            ping((b, c, a)[n % 3], monitor)
        wait_until(lambda: sum(n for (e, _), n in events().items() if e == "up") >= MONITORS, timeout=30)
        wait_until(lambda: all(d["status"] == "sent" for d in deliveries(testapp, auth, hook)))
    assert events() == Counter({(e, f"job{n}"): 1 for n in range(MONITORS) for e in ("down", "up")})
    for monitor in monitors:
        incidents = testapp.get(f"/api/monitors/{monitor['id']}/incidents", headers=auth).json["incidents"]
        assert len(incidents) == 1 and incidents[0]["ended_at"] is not None


def test_three_processes_send_each_reminder_once(app_settings, backend, testapp, owner, target, tmp_path):
    """Monitors DOWN for a while under three processes, whose outboxes all look for reminders: one per period."""
    if backend != "mysql":
        pytest.skip("several processes share a MariaDB; SQLite serves one")
    _, auth, _ = owner
    hook = new_channel(testapp, auth, kind="webhook", target=target.url + "/hook", remind_every=2)
    for n in range(MONITORS):
        new_monitor(
            testapp,
            auth,
            name=f"m{n}",
            url=target.url + "/flip",
            interval=1,
            timeout=1,
            failures_to_down=1,
            channels=[hook["id"]],
        )
    target.flip_status = 500
    settings = {
        **app_settings,
        "monitors.scheduler": "true",
        "alerts.outbox": "true",
        "aio.debug": "false",
        "myapp.create_schema": "false",
    }

    def reminders():
        found = (json.loads(h["body"]) for h in target.hits_on("/hook"))
        return [(b["monitor"]["name"], b["reminder"]) for b in found if b["event"] == "reminder"]

    with pserve(tmp_path, settings), pserve(tmp_path, settings), pserve(tmp_path, settings):
        wait_until(lambda: all((f"m{n}", 3) in reminders() for n in range(MONITORS)), timeout=30)
        target.flip_status = 200
        wait_until(
            lambda: (
                sum(body["event"] == "up" for body in map(json.loads, (h["body"] for h in target.hits_on("/hook"))))
                >= MONITORS
            ),
            timeout=20,
        )
        wait_until(lambda: all(d["status"] == "sent" for d in deliveries(testapp, auth, hook)))
    told = reminders()
    assert len(told) == len(set(told)), Counter(told)  # each (monitor, n) once
    assert len(told) >= 3 * MONITORS
