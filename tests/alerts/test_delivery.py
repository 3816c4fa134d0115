"""Alerts delivered by the outbox task to real receivers: a webhook (the test target's /hook) and an SMTP
server (aiosmtpd), once each, signed, retried, and given up on."""

import hashlib
import hmac
import json

from ..helpers import free_port, wait_until
from .conftest import PUBLIC_URL, deliveries, new_channel, new_monitor

SECRET = "a-secret-of-the-receiver"


def hook_bodies(target, event=None):
    hits = [h for h in target.hits_on("/hook")]
    return [(h, json.loads(h["body"])) for h in hits if event is None or json.loads(h["body"]).get("event") == event]


def settled(client, auth, channel):
    """The channel's deliveries once none is pending."""
    found = deliveries(client, auth, channel)
    return found if found and all(d["status"] != "pending" for d in found) else None


def test_down_then_up_arrive_once_on_each_channel(alerting, owner, target, smtp):
    client, (_, auth, _) = alerting, owner
    mailbox, _ = smtp
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook", secret=SECRET)
    mail = new_channel(client, auth, kind="email", target="oncall@example.com")
    monitor = new_monitor(
        client, auth, name="shop", url=target.url + "/flip", failures_to_down=1, channels=[hook["id"], mail["id"]]
    )
    target.flip_status = 503
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    wait_until(lambda: hook_bodies(target, "down") and mailbox.messages)
    target.flip_status = 200
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)  # still UP: no message
    wait_until(lambda: hook_bodies(target, "up") and len(mailbox.messages) == 2)
    wait_until(lambda: settled(client, auth, hook) and settled(client, auth, mail))
    assert [body["event"] for _, body in hook_bodies(target)] == ["down", "up"]  # once each, in order

    (down_hit, down), (up_hit, up) = hook_bodies(target)
    assert down["monitor"] == {
        "id": monitor["id"],
        "name": "shop",
        "kind": "http",
        "address": target.url + "/flip",
        "url": target.url + "/flip",
        "state": "DOWN",
        "page": f"{PUBLIC_URL}/monitors/{monitor['id']}",
    }
    assert down["cause"] == "expected status 200-399, got 503" and down["at"].endswith("Z")
    assert up["monitor"]["state"] == "UP" and up["down_seconds"] >= 0
    for hit, body in ((down_hit, down), (up_hit, up)):
        signed = "sha256=" + hmac.new(SECRET.encode(), hit["body"].encode(), hashlib.sha256).hexdigest()
        assert hit["headers"]["X-Myapp-Signature"] == signed
        assert (
            hit["headers"]["X-Myapp-Delivery"] == body["delivery"] and hit["headers"]["X-Myapp-Event"] == body["event"]
        )

    down_mail, up_mail = (m["message"] for m in mailbox.messages)
    assert down_mail["To"] == "oncall@example.com" and down_mail["From"] == "alerts@example.com"
    assert down_mail["Subject"] == "myapp: shop is DOWN"
    text = down_mail.get_content()
    assert "expected status 200-399, got 503" in text and target.url + "/flip" in text and " UTC" in text
    assert f"{PUBLIC_URL}/monitors/{monitor['id']}" in text
    assert up_mail["Subject"] == "myapp: shop is back UP" and "It was down for" in up_mail.get_content()
    assert [d["status"] for d in deliveries(client, auth, hook)] == ["sent", "sent"]


def test_a_failing_receiver_is_retried_with_the_same_key_then_given_up(make_myapp, smtp, owner, target):
    client, (_, auth, _) = make_myapp(**{"alerts.outbox": "true", "alerts.max_attempts": "3"}), owner
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook")
    monitor = new_monitor(client, auth, url=target.url + "/flip", failures_to_down=1, channels=[hook["id"]])
    target.hook_answers = [500, 502]  # then 200
    target.flip_status = 500
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    (delivery,) = wait_until(lambda: settled(client, auth, hook))
    assert delivery["status"] == "sent" and delivery["attempts"] == 3
    hits = hook_bodies(target)
    assert len(hits) == 3 and len({h["headers"]["X-Myapp-Delivery"] for h, _ in hits}) == 1  # one key: a repeat
    assert hits[2][0]["at"] - hits[1][0]["at"] >= 1.5  # backoff doubles: 1 s, then 2 s

    target.hook_answers = [500] * 10
    target.flip_status = 200
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    found = wait_until(
        lambda: settled(client, auth, hook) if len(deliveries(client, auth, hook)) == 2 else None, timeout=30
    )
    assert found[0]["status"] == "failed" and found[0]["attempts"] == 3  # alerts.max_attempts, below
    assert found[0]["last_error"] == "the receiver answered 500"


def test_slack_format_and_a_test_message(testapp, owner, target):
    _, auth, _ = owner
    hook = new_channel(testapp, auth, kind="webhook", target=target.url + "/hook", slack=True)
    res = testapp.post(f"/api/channels/{hook['id']}/test", headers=auth).json
    assert res["ok"] is True and res["status_code"] == 200
    ((hit, body),) = hook_bodies(target)
    assert list(body) == ["text"] and "test message" in body["text"]
    closed = new_channel(testapp, auth, kind="webhook", target=f"http://127.0.0.1:{free_port()}/hook")
    res = testapp.post(f"/api/channels/{closed['id']}/test", headers=auth).json
    assert res == {"ok": False, "status_code": None, "latency_ms": res["latency_ms"], "error": "connection refused"}
    assert [d["status"] for d in deliveries(testapp, auth, closed)] == ["failed"]


def test_no_channels_no_deliveries_and_degraded_only_when_asked(alerting, owner, target, app):
    client, (_, auth, _) = alerting, owner
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook")
    quiet = new_monitor(client, auth, url=target.url + "/flip", failures_to_down=1)
    slow = new_monitor(client, auth, url=target.url + "/slow?ms=300", degraded_ms=100, channels=[hook["id"]])
    asked = new_monitor(
        client, auth, url=target.url + "/slow?ms=300", degraded_ms=100, channels=[hook["id"]], notify_degraded=True
    )
    target.flip_status = 500
    for monitor in (quiet, slow, asked):
        client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    (delivery,) = wait_until(lambda: settled(client, auth, hook))
    assert delivery["event"] == "degraded" and delivery["monitor"] == asked["name"]


# owner first: the app is stopped before the tables are emptied, with A's deliveries still in flight
def test_a_receiver_that_never_answers_holds_back_nobody_elses_alerts(owner, make_myapp, make_user, make_key, target):
    """Owner A's 60 deliveries go to webhooks that answer after 10 s; B's alert is sent before any of A's
    attempts has ended, not after a batch of them."""
    import uuid

    from sqlalchemy import insert

    from myapp.alerts.tables import Delivery
    from myapp.models.meta import utcnow

    from ..monitors.conftest import run_sql

    client = make_myapp(**{"alerts.outbox": "true", "alerts.attempt_seconds": "5"})
    slow = [
        new_channel(client, owner[1], kind="webhook", target=f"{target.url}/slow?ms=10000&c={n}")["id"]
        for n in range(6)
    ]
    other = {"Authorization": f"Bearer {make_key(make_user('bob@example.com'), 'write')[1]}"}
    hook = new_channel(client, other, kind="webhook", target=target.url + "/hook")["id"]
    now = utcnow()

    def delivery(channel_id):
        key = uuid.uuid4().hex
        document = json.dumps({"delivery": key, "event": "test", "at": "2026-12-06T00:00:00Z", "channel": "c"})
        return {
            "key": key,
            "channel_id": channel_id,
            "event": "test",
            "document": document,
            "status": "pending",
            "attempts": 0,
            "due_at": now,
            "created_at": now,
        }

    run_sql(client.app, insert(Delivery).values([delivery(slow[n % 6]) for n in range(60)]))
    run_sql(client.app, insert(Delivery).values([delivery(hook)]))
    wait_until(lambda: target.hits_on("/hook"))
    ended = (
        "SELECT COUNT(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.channel_id <> :h"
    )
    assert run_sql(client.app, ended, h=hook) == [(0,)]  # none of A's has ended
    assert target.slow_most <= 2 * 6  # two at a time through each channel
