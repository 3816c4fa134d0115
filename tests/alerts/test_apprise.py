"""Chat and push services through Apprise, against real local receivers: Apprise's json:// and form:// to the
test target, ntfy:// to a local server that takes ntfy's API (a message published as JSON); the guard; the
URL kept secret; channels changed; the events a channel chose; an e-mail channel needs an SMTP server."""

import json
from urllib.parse import parse_qs

from ..helpers import free_port, wait_until
from ..monitors.conftest import TargetServer, certificate_pair
from .conftest import deliveries, new_channel, new_monitor
from .test_delivery import settled

TELEGRAM = "tgram://123456789:AAbbCCddEEffGGhhIIjjKKll/-1001234567890"


def bodies(target, path):
    return [h["body"] for h in target.hits_on(path)]


def check(client, auth, monitor):
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)


def test_an_apprise_url_is_checked_and_never_shown_whole(testapp, owner):
    _, auth, _ = owner
    channel = new_channel(testapp, auth, kind="apprise", target=TELEGRAM)
    assert channel["kind"] == "apprise" and channel["target"].startswith("tgram://")
    assert "AAbbCCddEEffGGhhIIjjKKll" not in json.dumps(channel) and "123456789:" not in channel["target"]
    listed = testapp.get("/api/channels", headers=auth).json["channels"]
    assert listed[0]["target"] == channel["target"]
    assert "AAbbCCdd" not in testapp.get(f"/api/channels/{channel['id']}", headers=auth).text
    for bad, says in (
        ("dbus://", "not one of the services offered"),
        ("mailto://user:pw@example.com", "not one of the services offered"),
        ("windows://", "not one of the services offered"),
        ("https://example.com/", "not one of the services offered"),
        ("tgram://", "Apprise cannot read this Telegram URL"),
        ("ntfy://\x00/x", "control characters"),
    ):
        res = testapp.post_json(
            "/api/channels", {"name": "x", "kind": "apprise", "target": bad}, headers=auth, status=422
        )
        assert says in res.json["fields"]["target"], (bad, res.json)
    kinds = {k["name"]: k for k in testapp.get("/api/channel-kinds").json["kinds"]}
    assert set(kinds) == {"webhook", "email", "apprise"}
    services = {s["title"]: s for s in kinds["apprise"]["services"]}
    assert {"Telegram", "Discord", "Slack", "Microsoft Teams", "ntfy", "Pushover", "Matrix", "PagerDuty"} <= set(
        services
    )
    for service in services.values():  # every example the form shows is a URL that is accepted
        testapp.post_json(
            "/api/channels", {"name": service["title"], "kind": "apprise", "target": service["example"]}, headers=auth
        )


def test_secret_paths_and_topics_are_masked_everywhere_a_channel_is_shown(testapp, owner, browser):
    """A JSON or form POST receiver's path token and an ntfy topic are the secret of their URLs: whoever knows an
    ntfy topic reads its alerts.  Masked in the API (read keys too), the channels page and the edit page."""
    _, auth, read = owner
    secrets = {
        "jsons://receiver.example.com/hooks/Tok3nTok3nTok3n": "Tok3nTok3nTok3n",
        "forms://receiver.example.com/F0rmS3cretF0rm": "F0rmS3cretF0rm",
        "ntfys://ntfy.sh/our-private-alerts-topic": "our-private-alerts-topic",
        "ntfy://another-private-topic": "another-private-topic",
    }
    channels = [new_channel(testapp, auth, kind="apprise", target=url) for url in secrets]
    client = browser("ada@example.com")
    shown = [
        testapp.get("/api/channels", headers=read).text,
        *(testapp.get(f"/api/channels/{c['id']}", headers=read).text for c in channels),
        client.get("/channels").text,
        *(client.get(f"/channels/{c['id']}/edit").text for c in channels),
    ]
    for secret in secrets.values():
        assert not [page for page in shown if secret in page], secret
    assert channels[0]["target"] == "jsons://receiver.example.com/h...s/T...n"  # still told apart


def test_alerts_reach_services_in_their_own_formats(alerting, owner, target):
    client, (_, auth, _) = alerting, owner
    url = target.url.replace("http://", "")
    channels = [
        new_channel(client, auth, kind="apprise", target=f"json://{url}/hook"),
        new_channel(client, auth, kind="apprise", target=f"form://{url}/echo"),
        new_channel(client, auth, kind="apprise", target=f"ntfy://{url}/alerts"),
    ]
    monitor = new_monitor(
        client, auth, name="shop", url=target.url + "/flip", failures_to_down=1, channels=[c["id"] for c in channels]
    )
    target.flip_status = 503
    check(client, auth, monitor)
    wait_until(lambda: bodies(target, "/hook") and bodies(target, "/echo") and bodies(target, "/"))
    target.flip_status = 200
    check(client, auth, monitor)
    wait_until(lambda: len(bodies(target, "/hook")) == 2 and len(bodies(target, "/")) == 2)
    wait_until(lambda: all(settled(client, auth, c) for c in channels))

    down, up = (json.loads(b) for b in bodies(target, "/hook"))  # Apprise's JSON document
    assert down["title"] == "myapp: shop is DOWN" and down["type"] == "failure"
    assert "expected status 200-399, got 503" in down["message"] and target.url + "/flip" in down["message"]
    assert up["title"] == "myapp: shop is back UP" and up["type"] == "success" and "It was down for" in up["message"]
    form = parse_qs(target.hits_on("/echo")[0]["body"])
    assert form["title"] == ["myapp: shop is DOWN"] and form["type"] == ["failure"]
    ntfy_down, ntfy_up = (json.loads(b) for b in bodies(target, "/"))  # ntfy: publish as JSON, the topic inside
    assert ntfy_down["topic"] == "alerts" and ntfy_down["title"] == "myapp: shop is DOWN"
    assert "got 503" in ntfy_down["message"] and ntfy_up["title"] == "myapp: shop is back UP"
    for channel in channels:
        assert [(d["event"], d["status"]) for d in deliveries(client, auth, channel)] == [
            ("up", "sent"),
            ("down", "sent"),
        ]


def test_a_failing_service_says_why_and_is_tried_again(make_myapp, owner, target):
    client, (_, auth, _) = make_myapp(**{"alerts.outbox": "true", "alerts.max_attempts": "3"}), owner
    url = target.url.replace("http://", "")
    channel = new_channel(client, auth, kind="apprise", target=f"json://{url}/hook")
    target.hook_answers = [500]
    res = client.post(f"/api/channels/{channel['id']}/test", headers=auth).json
    assert res["ok"] is False and "error=500" in res["error"] and "JSON" in res["error"]
    closed = new_channel(client, auth, kind="apprise", target=f"json://127.0.0.1:{free_port()}/x")
    res = client.post(f"/api/channels/{closed['id']}/test", headers=auth).json
    assert res["ok"] is False and "Connection error" in res["error"]

    monitor = new_monitor(client, auth, url=target.url + "/flip", failures_to_down=1, channels=[channel["id"]])
    target.hook_answers = [502]  # the first attempt fails, the second is taken
    target.flip_status = 500
    check(client, auth, monitor)
    (delivery,) = wait_until(lambda: [d for d in settled(client, auth, channel) or [] if d["event"] == "down"])
    assert delivery["status"] == "sent" and delivery["attempts"] == 2
    assert [json.loads(b)["title"] for b in bodies(target, "/hook")][-2:] == ["myapp: a monitor is DOWN"] * 2


def test_the_guard_holds_for_services_too(make_myapp, owner, target):
    client, (_, auth, _) = make_myapp(**{"outbound.private_targets": "deny"}), owner
    port = target.port
    res = client.post_json(
        "/api/channels",
        {"name": "x", "kind": "apprise", "target": f"json://127.0.0.1:{port}/hook"},
        headers=auth,
        status=422,
    )
    assert "blocked: 127.0.0.1, a loopback address" in res.json["fields"]["target"]
    res = client.post_json(
        "/api/channels",
        {"name": "x", "kind": "apprise", "target": f"json://localhost:{port}/hook"},
        headers=auth,
        status=422,
    )
    assert "blocked: localhost resolves to a loopback address" in res.json["fields"]["target"]
    allowed = make_myapp(**{"outbound.private_targets": "allow"})  # saved there, sent where the guard denies
    for name in ("localhost", "2130706433"):  # a name, an odd spelling: checked where the connection is made
        channel = new_channel(allowed, auth, kind="apprise", target=f"json://{name}:{port}/hook")
        res = client.post(f"/api/channels/{channel['id']}/test", headers=auth).json
        assert res["ok"] is False and res["error"].startswith(f"blocked: {name} resolves to a loopback address"), res
    assert target.hits_on("/hook") == []


def test_a_channel_is_changed_and_keeps_its_secrets(make_myapp, owner, target):
    testapp, (_, auth, _) = make_myapp(**{"alerts.min_remind_seconds": "300"}), owner
    url = target.url.replace("http://", "")
    channel = new_channel(testapp, auth, kind="apprise", target=f"json://user:hunter22@{url}/hook")
    assert "hunter22" not in channel["target"]
    changed = testapp.patch_json(
        f"/api/channels/{channel['id']}",
        {"name": "renamed", "events": ["up", "down"], "remind_every": 3600},
        headers=auth,
    ).json
    assert changed["name"] == "renamed" and changed["events"] == ["down", "up"] and changed["remind_every"] == 3600
    assert changed["target"] == channel["target"]
    assert testapp.post(f"/api/channels/{channel['id']}/test", headers=auth).json["ok"] is True
    hit = target.hits_on("/hook")[-1]
    assert hit["headers"]["Authorization"].startswith("Basic ")  # the password it had, kept
    for bad, field in (
        ({"events": []}, "events"),
        ({"events": ["storm"]}, "events"),
        ({"remind_every": 60}, "remind_every"),
    ):
        res = testapp.patch_json(f"/api/channels/{channel['id']}", bad, headers=auth, status=422)
        assert field in res.json["fields"], res.json
    assert "at least 300 seconds" in res.json["fields"]["remind_every"]
    everything = testapp.patch_json(f"/api/channels/{channel['id']}", {"events": None}, headers=auth).json
    assert everything["events"] == ["down", "up", "degraded", "certificate"]


def test_a_channel_is_told_only_the_events_it_chose(alerting, owner, target):
    client, (_, auth, _) = alerting, owner
    only_up = new_channel(client, auth, kind="webhook", target=target.url + "/hook", events=["up"])
    monitor = new_monitor(
        client, auth, name="shop", url=target.url + "/flip", failures_to_down=1, channels=[only_up["id"]]
    )
    target.flip_status = 500
    check(client, auth, monitor)
    target.flip_status = 200
    check(client, auth, monitor)
    wait_until(lambda: bodies(target, "/hook"))
    wait_until(lambda: settled(client, auth, only_up))
    assert [json.loads(b)["event"] for b in bodies(target, "/hook")] == ["up"]


def test_a_certificate_that_expires_soon_goes_where_it_was_chosen(make_myapp, owner, target, tmp_path):
    ca_file, context = certificate_pair(tmp_path, days=3)
    client, (_, auth, _) = make_myapp(**{"alerts.outbox": "true", "outbound.ca_file": ca_file}), owner
    downs = new_channel(client, auth, kind="webhook", target=target.url + "/hook", events=["down", "up"])
    certificates = new_channel(
        client, auth, kind="apprise", target=f"json://{target.url[7:]}/echo", events=["certificate"]
    )
    secure = TargetServer(ssl_context=context).start()
    try:
        monitor = new_monitor(
            client,
            auth,
            url=secure.url + "/ok",
            tls_days=14,
            failures_to_down=1,
            channels=[downs["id"], certificates["id"]],
        )
        check(client, auth, monitor)
        wait_until(lambda: bodies(target, "/echo"))
        wait_until(lambda: settled(client, auth, certificates))
    finally:
        secure.stop()
    (told,) = (json.loads(b) for b in bodies(target, "/echo"))
    assert "certificate expires in 2 days" in told["message"]
    assert deliveries(client, auth, downs) == [] and bodies(target, "/hook") == []


def test_an_email_channel_needs_an_smtp_server(make_myapp, owner):
    client, (_, auth, _) = make_myapp(**{"smtp.host": ""}), owner
    res = client.post_json(
        "/api/channels", {"name": "x", "kind": "email", "target": "oncall@example.com"}, headers=auth, status=422
    )
    assert "smtp.host" in res.json["fields"]["target"]


def test_the_docs_list_every_service_offered_with_its_example():
    from pathlib import Path

    from myapp.alerts.kinds.apprise import SERVICES

    docs = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text()
    for service in SERVICES:
        assert f"| {service.title} | `{service.example}` |" in docs, service.title
