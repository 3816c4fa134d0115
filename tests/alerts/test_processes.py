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
