"""Channels through the JSON API, and the channels of a monitor: validation, ownership, deletion."""

import pytest

from .conftest import new_channel, new_monitor


def test_channel_crud(testapp, owner):
    _, auth, read = owner
    hook = new_channel(
        testapp,
        auth,
        name="ops hook",
        kind="webhook",
        target="https://hooks.example.com/x",
        secret="s3cret-s3cret-s3cret",
        slack=True,
    )
    assert hook["has_secret"] is True and "secret" not in hook and hook["slack"] is True
    mail = new_channel(testapp, auth, name="on call", kind="email", target="Oncall@Example.com")
    assert mail["target"] == "Oncall@example.com"  # the domain normalised, the local part kept
    assert [c["name"] for c in testapp.get("/api/channels", headers=read).json["channels"]] == ["on call", "ops hook"]
    changed = testapp.patch_json(f"/api/channels/{hook['id']}", {"name": "renamed", "secret": None}, headers=auth).json
    assert changed["name"] == "renamed" and changed["has_secret"] is False and changed["slack"] is True
    testapp.patch_json(f"/api/channels/{hook['id']}", {"name": "x"}, headers=read, status=403)
    testapp.delete(f"/api/channels/{hook['id']}", headers=auth, status=204)
    testapp.get(f"/api/channels/{hook['id']}", headers=auth, status=404)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "webhook", "target": "ftp://example.com/"}, "target"),
        ({"kind": "webhook", "target": "http://169.254.169.254/latest"}, None),  # allowed by testing.ini's guard
        ({"kind": "email", "target": "not an address"}, "target"),
        ({"kind": "pager", "target": "x"}, "kind"),
        ({"kind": "webhook", "target": "https://example.com/", "secret": "short"}, "secret"),
        ({"kind": "email", "target": "a@example.com", "secret": "s3cret-s3cret-s3cret"}, "secret"),
        ({"kind": "email", "target": "a@example.com", "slack": True}, "slack"),
        ({"kind": "webhook", "target": "https://example.com/", "colour": "red"}, "colour"),
        ({"kind": "webhook", "target": "https://example.com/", "name": "\x00"}, "name"),
    ],
)
def test_bad_channels_are_422_naming_the_field(testapp, owner, body, field):
    res = testapp.post_json("/api/channels", {"name": "c", **body}, headers=owner[1], expect_errors=True)
    if field is None:
        assert res.status_int == 201
    else:
        assert res.status_int == 422 and field in res.json["fields"], res.json


def test_private_webhook_targets_are_refused_when_the_guard_denies_them(make_myapp, owner):
    client = make_myapp(**{"outbound.private_targets": "deny"})
    res = client.post_json(
        "/api/channels",
        {"name": "c", "kind": "webhook", "target": "http://10.0.0.5/hook"},
        headers=owner[1],
        status=422,
    )
    assert "private" in res.json["fields"]["target"]


def test_a_monitor_alerts_through_its_owners_channels_only(testapp, owner, make_user, make_key, target):
    _, auth, _ = owner
    mine = new_channel(testapp, auth, kind="webhook", target=target.url + "/hook")
    eve = {"Authorization": f"Bearer {make_key(make_user('eve@example.com'), 'write')[1]}"}
    hers = new_channel(testapp, eve, kind="webhook", target=target.url + "/hook")
    monitor = new_monitor(testapp, auth, url=target.url + "/ok", channels=[mine["id"]], notify_degraded=True)
    assert monitor["channels"] == [mine["id"]] and monitor["notify_degraded"] is True
    res = testapp.patch_json(f"/api/monitors/{monitor['id']}", {"channels": [hers["id"]]}, headers=auth, status=422)
    assert res.json["fields"] == {"channels": f"no such channel: {hers['id']}"}
    for bad in ("1", [0], ["1"], list(range(1, 30)), [2**40]):
        testapp.patch_json(f"/api/monitors/{monitor['id']}", {"channels": bad}, headers=auth, status=422)
    testapp.post_json(
        "/api/monitors", {"name": "x", "url": target.url, "channels": [hers["id"]]}, headers=auth, status=422
    )
    assert testapp.get("/api/monitors", headers=auth).json["monitors"][0]["channels"] == [mine["id"]]  # nothing made
    assert len(testapp.get("/api/monitors", headers=auth).json["monitors"]) == 1
    testapp.delete(f"/api/channels/{mine['id']}", headers=auth, status=204)
    assert testapp.get(f"/api/monitors/{monitor['id']}", headers=auth).json["channels"] == []
    testapp.get(f"/api/channels/{hers['id']}", headers=auth, status=403)


def test_a_storm_message_lists_a_hundred_monitors_and_counts_them_all():
    import types

    from myapp.alerts.messages import storm_document, text
    from myapp.models.meta import utcnow

    failed = [
        (
            types.SimpleNamespace(
                id=n,
                name=f"m{n}",
                kind="http",
                address="https://" + "x" * 2000,
                url="https://" + "x" * 2000,
                state="DOWN",
            ),
            "timed out",
        )
        for n in range(250)
    ]
    doc = storm_document("k", failed, utcnow())
    assert doc["count"] == 250 and len(doc["monitors"]) == 100
    assert text(doc).endswith("... and 150 more.") and text(doc).startswith("250 monitors failed at once")


def test_a_name_stored_with_a_line_break_still_makes_a_one_line_subject():
    """Names stored before separators were refused: their alert is sent, the name folded onto one line."""
    import types
    from email.message import EmailMessage

    from myapp.alerts.messages import document, subject
    from myapp.models.meta import utcnow

    name = "shop\u2028Bcc: x@evil.example\u0085\r\n"
    monitor = types.SimpleNamespace(
        id=1, name=name, kind="http", address="https://x.example", url="https://x.example", state="DOWN"
    )
    doc = document("k", "down", monitor, utcnow(), cause="timed out")
    message = EmailMessage()
    message["Subject"] = subject(doc)  # raises on any line break
    assert message["Subject"] == "myapp: shop Bcc: x@evil.example    is DOWN"
