"""Reminders while a monitor stays DOWN: through the channels that ask, every period, saying how long it has
been down; none when it is UP, paused or in maintenance; each written once however often it is looked for."""

import datetime
import json

import pytest

from myapp.alerts import service
from myapp.models import run_in_session
from myapp.models.meta import utcnow

from ..helpers import wait_until
from .conftest import deliveries, new_channel, new_monitor

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def reminding(make_myapp):
    """An app whose outbox runs (testing.ini: reminders may come a second apart, looked for every half second)."""
    return make_myapp(**{"alerts.outbox": "true"})


def reminders(target):
    return [b for b in (json.loads(h["body"]) for h in target.hits_on("/hook")) if b["event"] == "reminder"]


def remind(client, at):
    """Write the reminders due at ``at`` (as any process's outbox does): how many were written."""
    return run_in_session(client.app.registry, lambda session: service.remind(session, now=at))


def test_reminders_repeat_while_down_and_say_for_how_long(reminding, owner, target):
    client, (_, auth, _) = reminding, owner
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook", remind_every=1)
    quiet = new_channel(client, auth, kind="webhook", target=target.url + "/quiet")  # asks for none
    monitor = new_monitor(
        client, auth, name="shop", url=target.url + "/flip", failures_to_down=1, channels=[hook["id"], quiet["id"]]
    )
    target.flip_status = 500
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    wait_until(lambda: len(reminders(target)) >= 2, timeout=15)
    first, second = reminders(target)[:2]
    assert first["reminder"] == 1 and second["reminder"] == 2
    assert 1 <= first["down_seconds"] < second["down_seconds"]
    assert first["monitor"]["name"] == "shop" and first["monitor"]["state"] == "DOWN"
    assert first["cause"] == "expected status 200-399, got 500"
    quiet_events = [d["event"] for d in deliveries(client, auth, quiet)]
    assert "down" in quiet_events and "reminder" not in quiet_events  # told of the change, not reminded

    target.flip_status = 200
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)  # UP: the incident ends
    assert remind(client, utcnow() + HOUR) == 0


def test_each_reminder_is_written_once_and_only_the_latest(make_myapp, owner, target):
    client, (_, auth, _) = make_myapp(), owner  # no outbox: the test says when reminders are looked for
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook", remind_every=600)
    monitor = new_monitor(client, auth, url=target.url + "/flip", failures_to_down=1, channels=[hook["id"]])
    target.flip_status = 500
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    now = utcnow()
    assert remind(client, now + datetime.timedelta(minutes=9)) == 0  # not due yet
    assert remind(client, now + datetime.timedelta(minutes=11)) == 1
    assert remind(client, now + datetime.timedelta(minutes=11)) == 0  # written already: by any process
    assert remind(client, now + datetime.timedelta(minutes=59)) == 1  # the fifth; the 2nd to 4th were missed
    (latest, first) = [d for d in deliveries(client, auth, hook) if d["event"] == "reminder"]
    assert latest["status"] == first["status"] == "pending"

    client.patch_json(f"/api/monitors/{monitor['id']}", {"paused": True}, headers=auth)
    assert remind(client, now + 3 * HOUR) == 0  # paused: no reminders
    client.patch_json(f"/api/monitors/{monitor['id']}", {"paused": False}, headers=auth)
    client.post_json(
        "/api/maintenance",
        {
            "name": "w",
            "monitor_id": monitor["id"],
            "kind": "once",
            "starts_at": "2000-01-01T00:00:00Z",
            "ends_at": "2100-01-01T00:00:00Z",
        },
        headers=auth,
        status=201,
    )
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    assert client.get(f"/api/monitors/{monitor['id']}", headers=auth).json["state"] == "MAINTENANCE"
    assert remind(client, now + 3 * HOUR) == 0  # in maintenance: none


def test_reminders_go_only_where_the_down_alert_went(make_myapp, owner, target):
    client, (_, auth, _) = make_myapp(), owner
    certificates_only = new_channel(
        client, auth, kind="webhook", target=target.url + "/hook", remind_every=600, events=["certificate"]
    )
    monitor = new_monitor(
        client, auth, url=target.url + "/flip", failures_to_down=1, channels=[certificates_only["id"]]
    )
    target.flip_status = 500
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    assert remind(client, utcnow() + HOUR) == 0  # a plain DOWN, which this channel is not told of
