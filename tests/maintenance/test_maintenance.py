"""Maintenance windows: when they are active (time zones, midnight, daylight saving), the API and page,
and what a window does: MAINTENANCE, no incident, no alert, no uptime counted."""

import datetime
import types

import pytest

from myapp.maintenance.service import active

from ..monitors.conftest import new_monitor


def weekly(days, start_time, minutes, timezone):
    return types.SimpleNamespace(
        kind="weekly", days=days, start_time=start_time, duration_minutes=minutes, timezone=timezone
    )


def utc(text):
    return datetime.datetime.fromisoformat(text)


def test_a_one_off_window_is_half_open():
    window = types.SimpleNamespace(kind="once", starts_at=utc("2026-12-01T22:00"), ends_at=utc("2026-12-01T23:00"))
    assert [
        active(window, utc(t))
        for t in ("2026-12-01T21:59:59", "2026-12-01T22:00", "2026-12-01T22:59:59", "2026-12-01T23:00")
    ] == [False, True, True, False]


@pytest.mark.parametrize(
    "moment, expected",
    [
        # winter, Paris is UTC+1: Monday 22:00-01:00 local is 21:00-00:00 UTC
        ("2026-11-30T20:59", False),
        ("2026-11-30T21:00", True),
        ("2026-11-30T23:59", True),
        ("2026-12-01T00:00", False),
        # summer, UTC+2: the same local hours are an hour earlier in UTC
        ("2026-06-01T19:59", False),
        ("2026-06-01T20:00", True),
        ("2026-06-01T22:59", True),
        ("2026-06-01T23:00", False),
        # not on a Tuesday
        ("2026-12-01T21:30", False),
    ],
)
def test_a_weekly_window_follows_its_time_zone_across_midnight(moment, expected):
    assert active(weekly("mon", "22:00", 180, "Europe/Paris"), utc(moment)) is expected


def test_a_long_weekly_window_covers_the_next_days():
    window = weekly("fri", "18:00", 3 * 24 * 60, "UTC")  # the whole weekend, into Monday
    assert active(window, utc("2026-11-23T17:59"))  # Monday 17:59
    assert not active(window, utc("2026-11-23T18:00"))


ONCE_NOW = {"kind": "once", "starts_at": "2000-01-01T00:00:00Z", "ends_at": "2100-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "once", "starts_at": "2026-12-01T22:00:00Z"}, "ends_at"),
        ({"kind": "once", "starts_at": "2026-12-01T22:00:00", "ends_at": "2026-12-01T23:00:00Z"}, "starts_at"),
        ({"kind": "once", "starts_at": "2026-12-01T22:00:00Z", "ends_at": "2026-12-01T21:00:00Z"}, "ends_at"),
        ({"kind": "weekly", "days": ["mon"], "start_time": "22:00", "duration_minutes": 60}, "timezone"),
        (
            {"kind": "weekly", "days": ["mon"], "start_time": "25:00", "duration_minutes": 60, "timezone": "UTC"},
            "start_time",
        ),
        (
            {"kind": "weekly", "days": ["monday"], "start_time": "22:00", "duration_minutes": 60, "timezone": "UTC"},
            "days",
        ),
        (
            {"kind": "weekly", "days": ["mon"], "start_time": "22:00", "duration_minutes": 60, "timezone": "Mars/Base"},
            "timezone",
        ),
        (
            {"kind": "weekly", "days": ["mon"], "start_time": "22:00", "duration_minutes": 20000, "timezone": "UTC"},
            "duration_minutes",
        ),
        ({**ONCE_NOW, "monitor_id": 999999}, "monitor_ids"),
        ({**ONCE_NOW, "monitor_ids": [999999]}, "monitor_ids"),
        ({**ONCE_NOW, "monitor_ids": []}, "monitor_ids"),
        ({**ONCE_NOW, "monitor_ids": [0]}, "monitor_ids"),
        ({**ONCE_NOW, "monitor_ids": list(range(1, 1002))}, "monitor_ids"),
        ({**ONCE_NOW, "monitor_ids": [1], "monitor_id": 1}, "monitor_id"),
        ({**ONCE_NOW, "colour": "red"}, "colour"),
        # found by schemathesis: in UTC this is year 0, which no datetime holds (it was a 500)
        ({"kind": "once", "starts_at": "0001-01-01T02:01:00.0+04:00", "ends_at": "2026-12-01T23:00:00Z"}, "starts_at"),
        ({"kind": "once", "starts_at": "2026-12-01T22:00:00Z", "ends_at": "9999-12-31T23:00:00-05:00"}, "ends_at"),
    ],
)
def test_bad_windows_are_422_naming_the_field(testapp, owner, body, field):
    res = testapp.post_json("/api/maintenance", {"name": "w", **body}, headers=owner[1], status=422)
    assert field in res.json["fields"], res.json


def test_windows_crud(testapp, owner, target):
    _, auth, read = owner
    monitor = new_monitor(testapp, auth, url=target.url + "/ok")
    made = testapp.post_json(
        "/api/maintenance",
        {
            "name": "patch night",
            "monitor_id": monitor["id"],
            "kind": "weekly",
            "days": ["thu", "tue"],
            "start_time": "02:00",
            "duration_minutes": 90,
            "timezone": "Europe/Berlin",
        },
        headers=auth,
        status=201,
    ).json
    assert made["days"] == ["tue", "thu"] and made["starts_at"] is None
    assert made["monitor_ids"] == [monitor["id"]] and made["monitor_id"] == monitor["id"]  # the older spelling still
    changed = testapp.patch_json(f"/api/maintenance/{made['id']}", {"kind": "once", **ONCE_NOW}, headers=auth).json
    assert changed["kind"] == "once" and changed["days"] is None and changed["starts_at"] == "2000-01-01T00:00:00Z"
    assert [w["id"] for w in testapp.get("/api/maintenance", headers=read).json["windows"]] == [made["id"]]
    testapp.delete(f"/api/maintenance/{made['id']}", headers=read, status=403)
    testapp.delete(f"/api/maintenance/{made['id']}", headers=auth, status=204)
    testapp.get(f"/api/maintenance/{made['id']}", headers=auth, status=404)


def test_in_a_window_a_monitor_is_checked_but_opens_no_incident_and_sends_no_alert(testapp, owner, target):
    _, auth, _ = owner
    hook = testapp.post_json(
        "/api/channels", {"name": "h", "kind": "webhook", "target": target.url + "/hook"}, headers=auth
    ).json
    monitor = new_monitor(testapp, auth, url=target.url + "/flip", failures_to_down=1, channels=[hook["id"]])
    path = f"/api/monitors/{monitor['id']}"
    window = testapp.post_json(
        "/api/maintenance", {"name": "now", "monitor_id": monitor["id"], **ONCE_NOW}, headers=auth
    ).json
    target.flip_status = 500
    for _ in range(3):
        assert testapp.post(path + "/check", headers=auth).json["ok"] is False
    now = testapp.get(path, headers=auth).json
    assert now["state"] == "MAINTENANCE" and now["uptime"]["24h"] is None  # not counted
    assert len(testapp.get(path + "/results", headers=auth).json["results"]) == 3  # but kept
    assert testapp.get(path + "/incidents", headers=auth).json["incidents"] == []
    assert testapp.get(f"/api/channels/{hook['id']}/deliveries", headers=auth).json["deliveries"] == []
    states = testapp.get("/api/monitors", params={"state": "MAINTENANCE"}, headers=auth).json["monitors"]
    assert [m["id"] for m in states] == [monitor["id"]]

    testapp.delete(f"/api/maintenance/{window['id']}", headers=auth, status=204)
    testapp.post(path + "/check", headers=auth)  # the window is over: decided afresh, DOWN at once
    assert testapp.get(path, headers=auth).json["state"] == "DOWN"
    assert len(testapp.get(path + "/incidents", headers=auth).json["incidents"]) == 1
    assert [
        d["event"] for d in testapp.get(f"/api/channels/{hook['id']}/deliveries", headers=auth).json["deliveries"]
    ] == ["down"]

    # a window for all of the owner's monitors starts while it is DOWN: the incident ends, quietly
    testapp.post_json("/api/maintenance", {"name": "all", **ONCE_NOW}, headers=auth, status=201)
    testapp.post(path + "/check", headers=auth)
    assert testapp.get(path, headers=auth).json["state"] == "MAINTENANCE"
    (incident,) = testapp.get(path + "/incidents", headers=auth).json["incidents"]
    assert incident["ended_at"] is not None
    assert len(testapp.get(f"/api/channels/{hook['id']}/deliveries", headers=auth).json["deliveries"]) == 1


def test_windows_are_made_and_deleted_in_the_browser(owner, browser, testapp, target):
    client = browser("ada@example.com")
    monitor = new_monitor(testapp, owner[1], name="shop", url=target.url + "/ok")
    other = new_monitor(testapp, owner[1], name="till", url=target.url + "/ok")
    page = client.get("/maintenance")
    assert page.html.find("a", string="Maintenance")
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    res = client.post(
        "/maintenance",
        {
            "name": "nightly",
            "kind": "weekly",
            "days": ["mon", "fri"],
            "start_time": "23:00",
            "duration_minutes": "x",
            "timezone": "Nowhere/City",
            "csrf_token": token,
        },
        status=422,
    )
    assert res.html.find(id="duration_minutes-error")
    res = client.post(
        "/maintenance",
        {
            "name": "nightly",
            "kind": "weekly",
            "days": ["mon", "fri"],
            "start_time": "23:00",
            "duration_minutes": "60",
            "timezone": "Nowhere/City",
            "csrf_token": token,
        },
        status=422,
    )
    assert "time zone" in res.html.find(id="timezone-error").text
    assert res.html.find("input", {"name": "days", "value": "fri"}).has_attr("checked")  # kept
    client.post(
        "/maintenance",
        {
            "name": "nightly",
            "kind": "weekly",
            "days": ["mon", "fri"],
            "start_time": "23:00",
            "duration_minutes": "60",
            "timezone": "Europe/Paris",
            "csrf_token": token,
        },
        status=302,
    )
    client.post(
        "/maintenance",
        {
            "name": "move",
            "kind": "once",
            "scope": "some",
            "monitor_ids": [str(monitor["id"]), str(other["id"])],
            "starts_at": "2026-12-01T22:00",
            "ends_at": "2026-12-01T23:30",
            "csrf_token": token,
        },
        status=302,
    )
    tokyo = {"name": "tokyo", "kind": "once", "starts_at": "2026-12-02T09:00", "ends_at": "2026-12-02T10:00"}
    res = client.post("/maintenance", {**tokyo, "timezone": "Asia/Nowhere", "csrf_token": token}, status=422)
    assert res.html.find(id="timezone-error") and not res.html.find(id="starts_at-error")
    assert res.html.find("input", {"name": "starts_at"})["value"] == "2026-12-02T09:00"  # kept as typed
    client.post("/maintenance", {**tokyo, "timezone": "Asia/Tokyo", "csrf_token": token}, status=302)
    made = next(w for w in testapp.get("/api/maintenance", headers=owner[1]).json["windows"] if w["name"] == "tokyo")
    assert (made["starts_at"], made["ends_at"]) == ("2026-12-02T00:00:00Z", "2026-12-02T01:00:00Z")  # in Tokyo's
    testapp.delete(f"/api/maintenance/{made['id']}", headers=owner[1], status=204)
    listing = client.get("/maintenance").html.find("table").text
    assert (
        "every mon, fri at 23:00 (Europe/Paris) for 1 h" in listing
        and "shop, till" in listing
        and "all of yours" in listing
    )
    res = client.post("/maintenance", {**tokyo, "scope": "some", "csrf_token": token}, status=422)
    assert "tick the monitors" in res.html.find(id="monitor_ids-error").text
    windows = testapp.get("/api/maintenance", headers=owner[1]).json["windows"]
    confirm = client.get(f"/maintenance/{windows[0]['id']}/delete")
    next(f for f in confirm.forms.values() if f.action.endswith("/delete")).submit(status=302)
    assert len(testapp.get("/api/maintenance", headers=owner[1]).json["windows"]) == 1


def test_a_window_covers_the_monitors_it_lists_and_no_other(testapp, owner, make_user, make_key, target):
    _, auth, read = owner
    first, second, third = (
        new_monitor(testapp, auth, name=n, url=target.url + "/flip", failures_to_down=1) for n in ("a", "b", "c")
    )
    eve = {"Authorization": f"Bearer {make_key(make_user('eve@example.com'), 'write')[1]}"}
    stranger = new_monitor(testapp, eve, url=target.url + "/flip")
    res = testapp.post_json(
        "/api/maintenance",
        {"name": "two", "monitor_ids": [stranger["id"], first["id"]], **ONCE_NOW},
        headers=auth,
        status=422,
    )
    assert res.json["fields"] == {"monitor_ids": f"no such monitor: {stranger['id']}"}  # another's is not found
    window = testapp.post_json(
        "/api/maintenance",
        {"name": "two", "monitor_ids": [second["id"], first["id"], second["id"]], **ONCE_NOW},
        headers=auth,
        status=201,
    ).json
    assert window["monitor_ids"] == sorted([first["id"], second["id"]]) and window["monitor_id"] is None
    assert testapp.get(f"/api/maintenance/{window['id']}", headers=read).json == window
    target.flip_status = 500
    for monitor in (first, second, third):
        testapp.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    states = {m["id"]: m["state"] for m in testapp.get("/api/monitors", headers=auth).json["monitors"]}
    assert [states[m["id"]] for m in (first, second, third)] == ["MAINTENANCE", "MAINTENANCE", "DOWN"]

    # a change of its monitors replaces them; the older one-monitor spelling still works
    changed = testapp.patch_json(f"/api/maintenance/{window['id']}", {"monitor_ids": [third["id"]]}, headers=auth).json
    assert changed["monitor_ids"] == [third["id"]] and changed["monitor_id"] == third["id"]
    changed = testapp.patch_json(f"/api/maintenance/{window['id']}", {"monitor_id": None}, headers=auth).json
    assert changed["monitor_ids"] is None and changed["monitor_id"] is None  # now all of them
    changed = testapp.patch_json(f"/api/maintenance/{window['id']}", {"monitor_id": first["id"]}, headers=auth).json
    assert changed["monitor_ids"] == [first["id"]]
    testapp.patch_json(f"/api/maintenance/{window['id']}", {"monitor_ids": [stranger["id"]]}, headers=auth, status=422)
    assert testapp.get(f"/api/maintenance/{window['id']}", headers=read).json["monitor_ids"] == [first["id"]]

    # a window whose monitors are all deleted covers nothing (it does not become one for all)
    testapp.delete(f"/api/monitors/{first['id']}", headers=auth, status=204)
    assert testapp.get(f"/api/maintenance/{window['id']}", headers=read).json["monitor_ids"] == []
    for monitor in (second, third):
        testapp.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
        assert testapp.get(f"/api/monitors/{monitor['id']}", headers=auth).json["state"] == "DOWN"
