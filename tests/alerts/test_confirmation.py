"""An e-mail address receives alerts only once its owner confirmed it (alerts.confirm_email, on by default),
and what a user may send to an address is throttled: test messages, confirmation mails."""

import re

import pytest

from ..helpers import wait_until
from .conftest import PUBLIC_URL, deliveries, new_channel, new_monitor

LINK = re.compile(r"https?://\S+/channels/confirm/([A-Za-z0-9_-]+)")


@pytest.fixture
def confirming(make_myapp, smtp):
    """An app whose outbox runs and whose e-mail channels must be confirmed, with its throttles low."""
    return make_myapp(
        **{
            "alerts.outbox": "true",
            "alerts.confirm_email": "true",
            "alerts.tests_per_hour": "3",
            "alerts.confirmations_per_day": "2",
            "smtp.host": "127.0.0.1",
            "smtp.port": str(smtp[1]),
            "smtp.from": "alerts@example.com",
            "myapp.public_url": PUBLIC_URL,
            "myapp.allowed_hosts": "localhost",
        }
    )


def mails_to(mailbox, address):
    return [m["message"] for m in mailbox.messages if m["to"] == [address]]


def test_an_address_gets_alerts_only_once_confirmed(confirming, owner, target, smtp):
    client, auth, (mailbox, _) = confirming, owner[1], smtp
    mail = new_channel(client, auth, kind="email", target="oncall@example.com")
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook")
    assert (mail["confirmed"], hook["confirmed"]) == (False, True)

    (asked,) = wait_until(lambda: mails_to(mailbox, "oncall@example.com"))
    assert asked["Subject"] == "myapp: confirm this address for alerts"
    token = LINK.search(asked.get_content()).group(1)

    # before the link is followed: no test message, and an outage alerts the webhook only
    res = client.post(f"/api/channels/{mail['id']}/test", headers=auth, status=409)
    assert "Confirm the address first" in res.json["message"]
    monitor = new_monitor(client, auth, url=target.url + "/flip", failures_to_down=1, channels=[mail["id"], hook["id"]])
    target.flip_status = 503
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    wait_until(lambda: target.hits_on("/hook"))
    assert [d["event"] for d in deliveries(client, auth, mail)] == ["confirm"]

    # following the link shows a button (a mail scanner's GET confirms nothing); pressing it confirms
    page = client.get(f"/channels/confirm/{token}")
    assert client.get(f"/api/channels/{mail['id']}", headers=auth).json["confirmed"] is False
    done = page.forms[0].submit()
    assert "Confirmed" in done.text
    assert client.get(f"/api/channels/{mail['id']}", headers=auth).json["confirmed"] is True
    client.post(f"/channels/confirm/{token}", {"csrf_token": page.forms[0]["csrf_token"].value}, status=404)

    # from now on the address gets what the channel sends
    target.flip_status = 200
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    wait_until(lambda: [m for m in mails_to(mailbox, "oncall@example.com") if "back UP" in m["Subject"]])
    assert client.post(f"/api/channels/{mail['id']}/test", headers=auth).json["ok"] is True


def test_a_changed_address_is_confirmed_again(confirming, owner, smtp, app):
    client, auth, (mailbox, _) = confirming, owner[1], smtp
    mail = new_channel(client, auth, kind="email", target="one@example.com")
    token = LINK.search(wait_until(lambda: mails_to(mailbox, "one@example.com"))[0].get_content()).group(1)
    page = client.get(f"/channels/confirm/{token}")
    page.forms[0].submit()
    changed = client.patch_json(f"/api/channels/{mail['id']}", {"target": "two@example.com"}, headers=auth).json
    assert changed["confirmed"] is False
    wait_until(lambda: mails_to(mailbox, "two@example.com"))
    client.post(f"/api/channels/{mail['id']}/test", headers=auth, status=409)


def test_test_messages_and_confirmations_are_throttled(confirming, owner, target, smtp):
    client, auth, (mailbox, _) = confirming, owner[1], smtp
    hook = new_channel(client, auth, kind="webhook", target=target.url + "/hook")
    for _ in range(3):
        assert client.post(f"/api/channels/{hook['id']}/test", headers=auth).json["ok"] is True
    res = client.post(f"/api/channels/{hook['id']}/test", headers=auth, status=429)
    assert "try again in" in res.json["message"] and int(res.headers["Retry-After"]) > 0
    assert len(target.hits_on("/hook")) == 3

    # two confirmation mails a day to one address, whoever asks; the third channel is refused, not added
    for _ in range(2):
        new_channel(client, auth, kind="email", target="victim@example.com")
    res = client.post_json(
        "/api/channels",
        {"name": "a third", "kind": "email", "target": "Victim@Example.com"},
        headers=auth,
        status=429,
    )
    assert "try again in" in res.json["message"]
    assert len(client.get("/api/channels", headers=auth).json["channels"]) == 3
    wait_until(lambda: len(mails_to(mailbox, "victim@example.com")) == 2)
    mail = mails_to(mailbox, "victim@example.com")[0]
    assert "a channel" not in mail["Subject"], "the subject holds none of the user's words"


def test_a_test_message_subject_holds_none_of_the_users_words(make_myapp, owner, smtp):
    mailbox, port = smtp
    client = make_myapp(**{"smtp.host": "127.0.0.1", "smtp.port": str(port), "smtp.from": "alerts@example.com"})
    channel = new_channel(client, owner[1], name="WIN A PRIZE at evil.example", kind="email", target="x@example.com")
    assert client.post(f"/api/channels/{channel['id']}/test", headers=owner[1]).json["ok"] is True
    (mail,) = mails_to(mailbox, "x@example.com")
    assert mail["Subject"] == "myapp: a test message"


def test_every_url_is_built_from_the_public_url_whatever_host_a_request_names(make_myapp, owner, smtp):
    """Host 127.0.0.1:9999 is allowed (its name is), yet no link, ping URL or redirect names it."""
    from webtest import TestApp

    from ..conftest import PASSWORD, csrf_token

    public = "https://status.example.com"
    mailbox, port = smtp
    client = make_myapp(
        **{
            "myapp.public_url": public,
            "myapp.allowed_hosts": "127.0.0.1",
            "alerts.outbox": "true",
            "alerts.confirm_email": "true",
            "smtp.host": "127.0.0.1",
            "smtp.port": str(port),
        }
    )
    client = TestApp(client.app, extra_environ={"HTTP_HOST": "127.0.0.1:9999"})
    auth = owner[1]
    created = client.post_json("/api/monitors", {"name": "job", "kind": "heartbeat", "interval": 60}, headers=auth)
    assert created.json["ping_url"].startswith(f"{public}/ping/")
    assert created.headers["Location"] == f"{public}/api/monitors/{created.json['id']}"
    client.post_json("/api/channels", {"name": "mail", "kind": "email", "target": "oncall@example.com"}, headers=auth)
    (mail,) = wait_until(lambda: mailbox.messages)
    assert f"{public}/channels/confirm/" in mail["message"].get_content()
    assert client.get("/account", status=302).location == f"{public}/login?next=%2Faccount"
    form = {"email": "ada@example.com", "password": PASSWORD, "csrf_token": csrf_token(client), "next": "/monitors"}
    assert client.post("/login", form, status=302).location == f"{public}/monitors"  # a path, made absolute
