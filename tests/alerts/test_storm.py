"""Storm suppression: when many monitors become unreachable at once, the process checks them again on
fresh connections and sends one grouped message per channel instead of one per monitor."""

import json

from ..helpers import free_port, wait_until
from .conftest import deliveries, new_channel, new_monitor


def scheduling(make_myapp):
    return make_myapp(**{"monitors.scheduler": "true", "alerts.outbox": "true"})


def down_everywhere(client, auth, ids):
    return all(client.get(f"/api/monitors/{i}", headers=auth).json["state"] == "DOWN" for i in ids)


def test_many_unreachable_monitors_make_one_grouped_message(make_myapp, owner, target):
    client, (_, auth, _) = scheduling(make_myapp), owner
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused, for every monitor
    ids = [
        new_monitor(
            client,
            auth,
            name=f"svc{n}",
            url=f"{closed}/{n}",
            interval=1,
            timeout=1,
            failures_to_down=1,
            channels=[hook["id"]],
        )["id"]
        for n in range(6)
    ]
    wait_until(lambda: down_everywhere(client, auth, ids), timeout=30)
    wait_until(
        lambda: deliveries(client, auth, hook) and all(d["status"] == "sent" for d in deliveries(client, auth, hook))
    )
    bodies = [json.loads(h["body"]) for h in target.hits_on("/hook")]
    assert [b["event"] for b in bodies] == ["storm"], bodies
    (storm,) = bodies
    assert (
        storm["count"] == 6 and storm["message"] == "6 monitors failed at once; this may be the monitor's own network"
    )
    assert sorted(m["name"] for m in storm["monitors"]) == [f"svc{n}" for n in range(6)]
    assert {m["cause"] for m in storm["monitors"]} == {"connection refused"} and all(
        m["state"] == "DOWN" for m in storm["monitors"]
    )
    for monitor_id in ids:  # each still has its own incident
        assert len(client.get(f"/api/monitors/{monitor_id}/incidents", headers=auth).json["incidents"]) == 1


def test_a_few_unreachable_monitors_alert_one_by_one(make_myapp, owner, target):
    client, (_, auth, _) = scheduling(make_myapp), owner
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook")
    closed = f"http://127.0.0.1:{free_port()}"
    ids = [
        new_monitor(
            client,
            auth,
            name=f"svc{n}",
            url=f"{closed}/{n}",
            interval=1,
            timeout=1,
            failures_to_down=1,
            channels=[hook["id"]],
        )["id"]
        for n in range(2)
    ]
    wait_until(lambda: down_everywhere(client, auth, ids), timeout=30)
    wait_until(
        lambda: (
            len(deliveries(client, auth, hook)) == 2
            and all(d["status"] == "sent" for d in deliveries(client, auth, hook))
        )
    )
    bodies = [json.loads(h["body"]) for h in target.hits_on("/hook")]
    assert sorted((b["event"], b["monitor"]["name"]) for b in bodies) == [("down", "svc0"), ("down", "svc1")]
