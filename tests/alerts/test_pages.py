"""The alert channels in the browser (WebTest): list and form, a channel's page, test, delete; the monitor
form's channels."""

import json

import pytest

from ..conftest import csrf_token
from .conftest import new_channel


@pytest.fixture
def ada(owner, browser):
    return browser("ada@example.com"), owner[1]


def test_channels_are_added_tested_and_deleted_in_the_browser(ada, target):
    client, _ = ada
    page = client.get("/channels")
    assert "Alert channels" in page.text and page.html.find("a", string="Alerts")  # in the top bar
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    res = client.post(
        "/channels",
        {"name": "hook", "kind": "webhook", "target": "gopher://x", "secret": "short", "csrf_token": token},
        status=422,
    )
    assert res.html.find(id="target-error") and res.html.find(id="secret-error")
    assert res.html.find("input", {"name": "name"})["value"] == "hook"
    assert res.html.find("input", {"name": "secret"}).get("value", "") == ""  # a secret is never sent back
    res = client.post(
        "/channels",
        {"name": "hook", "kind": "webhook", "target": target.url + "/hook", "csrf_token": token},
        status=302,
    )
    channel = client.get(res.location)
    assert "Send a test message" in channel.text and "Nothing sent yet" in channel.text
    next(f for f in channel.forms.values() if f.action.endswith("/test")).submit(status=302)
    channel = client.get(res.location)
    assert "The test message is sent." in channel.text and "✓ sent" in channel.text
    assert len(target.hits_on("/hook")) == 1
    client.post(res.location + "/test", {}, status=400)  # no CSRF token: nothing is sent
    assert len(target.hits_on("/hook")) == 1
    confirm = client.get(res.location + "/delete")
    next(f for f in confirm.forms.values() if f.action.endswith("/delete")).submit(status=302)
    client.get(res.location, status=404)


def test_the_monitor_form_chooses_channels(ada, testapp, target, make_user, make_key):
    client, auth = ada
    first = client.get("/monitors/new")
    assert "No alert channels yet" in first.text
    hook = new_channel(testapp, auth, name="hook", kind="webhook", target=target.url + "/hook")
    new_channel(testapp, auth, name="mail", kind="email", target="a@example.com")
    eve = {"Authorization": f"Bearer {make_key(make_user('eve@example.com'), 'write')[1]}"}
    hers = new_channel(testapp, eve, name="eve's", kind="webhook", target=target.url + "/hook")
    form = client.get("/monitors/new")
    assert [i["value"] for i in form.html.find_all("input", {"name": "channels"})] != []
    assert "eve's" not in form.text
    values = {
        "name": "shop",
        "url": target.url + "/ok",
        "interval": "60",
        "timeout": "10",
        "tls_days": "14",
        "failures_to_down": "2",
        "successes_to_up": "1",
        "expect_status": "200-399",
        "method": "GET",
        "csrf_token": csrf_token(client, "/monitors/new"),
        "action": "save",
    }
    res = client.post("/monitors/new", {**values, "channels": [str(hers["id"])]}, status=422)
    assert "no such channel" in res.html.find(id="channels-error").text
    assert client.get("/api/monitors").json["monitors"] == []  # nothing was made
    res = client.post("/monitors/new", {**values, "channels": [str(hook["id"])], "notify_degraded": "on"}, status=302)
    monitor_id = int(res.location.rsplit("/", 1)[1])
    saved = client.get(f"/api/monitors/{monitor_id}").json
    assert saved["channels"] == [hook["id"]] and saved["notify_degraded"] is True
    edit = client.get(f"/monitors/{monitor_id}/edit")
    ticked = [i["value"] for i in edit.html.find_all("input", {"name": "channels"}) if i.has_attr("checked")]
    assert ticked == [str(hook["id"])]
    client.post(
        f"/monitors/{monitor_id}/edit",
        {**values, "csrf_token": csrf_token(client, f"/monitors/{monitor_id}/edit")},
        status=302,
    )
    assert client.get(f"/api/monitors/{monitor_id}").json["channels"] == []  # unticked: none


def test_the_whole_story_in_the_browser(make_myapp, make_user, target, smtp):
    """Channels made in the browser, chosen on the monitor's form; the target stops, then comes back: one
    DOWN and one UP message on each channel, sent by the app's own scheduler and outbox."""
    from webtest import TestApp

    from ..conftest import PASSWORD
    from ..helpers import wait_until

    mailbox, port = smtp
    make_user("ada@example.com")
    app = make_myapp(
        **{"monitors.scheduler": "true", "alerts.outbox": "true", "smtp.host": "127.0.0.1", "smtp.port": str(port)}
    ).app
    client = TestApp(app, extra_environ={"HTTP_HOST": "localhost"})
    client.post(
        "/login", {"email": "ada@example.com", "password": PASSWORD, "csrf_token": csrf_token(client)}, status=302
    )
    token = csrf_token(client, "/channels")
    client.post(
        "/channels",
        {"name": "hook", "kind": "webhook", "target": target.url + "/hook", "csrf_token": token},
        status=302,
    )
    client.post(
        "/channels", {"name": "mail", "kind": "email", "target": "ada@example.com", "csrf_token": token}, status=302
    )
    form = client.get("/monitors/new")
    channel_ids = [i["value"] for i in form.html.find_all("input", {"name": "channels"})]
    client.post(
        "/monitors/new",
        {
            "name": "shop",
            "url": target.url + "/flip",
            "method": "GET",
            "interval": "1",
            "timeout": "1",
            "expect_status": "200-399",
            "tls_days": "14",
            "failures_to_down": "2",
            "successes_to_up": "1",
            "channels": channel_ids,
            "csrf_token": csrf_token(client, "/monitors/new"),
            "action": "save",
        },
        status=302,
    )
    wait_until(lambda: "UP" in client.get("/monitors").html.find(id="monitor-rows").text)
    target.flip_status = 503  # the target stops answering well
    wait_until(lambda: len(mailbox.messages) == 1 and target.hits_on("/hook"), timeout=20)
    target.flip_status = 200
    wait_until(lambda: len(mailbox.messages) == 2 and len(target.hits_on("/hook")) == 2, timeout=20)
    wait_until(
        lambda: (
            client.get("/channels").status_int == 200
            and all(
                "✓ sent" in row.text
                for c in channel_ids
                for row in client.get(f"/channels/{c}").html.find("table").find("tbody").find_all("tr")
            )
        )
    )
    assert [m["message"]["Subject"] for m in mailbox.messages] == ["myapp: shop is DOWN", "myapp: shop is back UP"]
    assert [json.loads(h["body"])["event"] for h in target.hits_on("/hook")] == ["down", "up"]
