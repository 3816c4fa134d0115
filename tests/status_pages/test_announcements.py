"""Announcements on status pages (incidents and notices with their updates), and maintenance shown ahead of
time: through the API and the owner's page, as the public page shows them."""

import datetime

import pytest

from myapp.maintenance.service import next_time
from myapp.models.meta import utcnow
from myapp.status_pages import announcements

from ..conftest import csrf_token, form_with_action
from ..maintenance.test_maintenance import weekly
from ..monitors.conftest import new_monitor


@pytest.fixture
def acme(owner, browser, testapp, target):
    """(signed-in browser of the owner, write headers, the page's id, its monitor) for /status/acme."""
    client, auth = browser("ada@example.com"), owner[1]
    monitor = new_monitor(testapp, auth, name="API", url=target.url + "/ok")
    client.post(
        "/status-pages",
        {
            "title": "Acme",
            "slug": "acme",
            "monitors": [str(monitor["id"])],
            "csrf_token": csrf_token(client, "/status-pages"),
        },
        status=302,
    )
    page_id = int(client.get("/status-pages").html.find("a", string="Edit")["href"].split("/")[2])
    return client, auth, page_id, monitor


def public(testapp, slug="acme"):
    return testapp.get(f"/status/{slug}", headers={"Cookie": ""})


def test_an_incident_is_told_updated_and_resolved_through_the_api(acme, testapp, owner):
    _, auth, _, _ = acme
    made = testapp.post_json(
        "/api/announcements",
        {
            "status_page": "acme",
            "title": "Slow logins",
            "impact": "major",
            "status": "investigating",
            "message": "Logins take a minute.\r\nWe are <looking>.",
        },
        headers=auth,
        status=201,
    )
    told = made.json
    assert made.headers["Location"].endswith(f"/api/announcements/{told['id']}")
    assert (told["status_page"], told["impact"], told["resolved_at"]) == ("acme", "major", None)
    assert [u["message"] for u in told["updates"]] == ["Logins take a minute.\nWe are <looking>."]
    page = public(testapp)
    section = page.html.find("section", class_="told")
    assert section.h2.text == "Slow logins" and "impact-major" in section["class"]
    assert section.find("p", class_="message").text == "Logins take a minute.\nWe are <looking>."  # text, escaped
    assert "<looking>" not in page.text

    path = f"/api/announcements/{told['id']}"
    told = testapp.post_json(
        path + "/updates", {"status": "identified", "message": "A full disk."}, headers=auth, status=201
    ).json
    assert [u["status"] for u in told["updates"]] == ["identified", "investigating"]  # newest first
    told = testapp.post_json(path + "/updates", {"status": "resolved", "message": "Fixed."}, headers=auth).json
    assert told["resolved_at"] is not None
    page = public(testapp)
    assert page.html.find("section", class_="told") is None  # no longer on top
    past = page.html.find("details", class_="told")
    assert past.summary.strong.text == "Slow logins"
    assert [li.strong.text for li in past.find_all("li")] == ["Resolved", "Identified", "Investigating"]

    # another update opens it again; the title and impact may change; a delete takes it off the page
    told = testapp.post_json(path + "/updates", {"status": "monitoring", "message": "Back."}, headers=auth).json
    assert told["resolved_at"] is None and public(testapp).html.find("section", class_="told")
    told = testapp.patch_json(path, {"impact": "minor"}, headers=auth).json
    assert (told["title"], told["impact"]) == ("Slow logins", "minor")
    assert testapp.get("/api/announcements", headers=owner[2]).json["announcements"] == [told]
    testapp.delete(path, headers=owner[2], status=403)  # a read-only key
    testapp.delete(path, headers=auth, status=204)
    assert "Slow logins" not in public(testapp).text
    testapp.get(path, headers=auth, status=404)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"status_page": "nowhere"}, "status_page"),
        ({"status_page": "eves"}, "status_page"),  # another user's page
        ({"status": "fine"}, "status"),
        ({"impact": "huge"}, "impact"),
        ({"message": "   "}, "message"),
        ({"message": "x" * 5001}, "message"),
        ({"message": "a\x00b"}, "message"),
        ({"title": "two\nlines"}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_announcements_are_422_naming_the_field(acme, testapp, make_user, make_key, target, change, field):
    _, auth, _, _ = acme
    eve = {"Authorization": f"Bearer {make_key(make_user('eve@example.com'), 'write')[1]}"}
    testapp.post_json(
        "/api/status-pages", {}, headers=eve, status=404
    )  # there is no such route: pages are made by form
    body = {"status_page": "acme", "title": "t", "status": "update", "message": "m", **change}
    res = testapp.post_json("/api/announcements", body, headers=auth, status=422)
    assert field in res.json["fields"], res.json
    assert testapp.get("/api/announcements", headers=auth).json["announcements"] == []


def test_nobody_else_may_read_or_change_an_announcement(acme, testapp, make_user, make_key):
    _, auth, _, _ = acme
    told = testapp.post_json(
        "/api/announcements", {"status_page": "acme", "title": "t", "status": "update", "message": "m"}, headers=auth
    ).json
    eve = {"Authorization": f"Bearer {make_key(make_user('eve@example.com'), 'write')[1]}"}
    path = f"/api/announcements/{told['id']}"
    testapp.get(path, headers=eve, status=403)
    testapp.post_json(path + "/updates", {"status": "resolved", "message": "ha"}, headers=eve, status=403)
    testapp.delete(path, headers=eve, status=403)
    assert testapp.get("/api/announcements", headers=eve).json["announcements"] == []
    assert testapp.get(path, headers=auth).json == told


def test_updates_and_announcements_have_limits(acme, make_myapp, monkeypatch):
    _, auth, _, _ = acme
    monkeypatch.setattr(announcements, "MAX_UPDATES", 2)
    testapp = make_myapp(**{"status_pages.max_announcements_per_user": "1"})
    body = {"status_page": "acme", "title": "t", "status": "update", "message": "m"}
    told = testapp.post_json("/api/announcements", body, headers=auth, status=201).json
    res = testapp.post_json("/api/announcements", body, headers=auth, status=409)
    assert "1 announcements" in res.json["message"]
    path = f"/api/announcements/{told['id']}/updates"
    testapp.post_json(path, {"status": "update", "message": "2"}, headers=auth, status=201)
    res = testapp.post_json(path, {"status": "update", "message": "3"}, headers=auth, status=409)
    assert "updates" in res.json["message"]
    assert len(testapp.get(f"/api/announcements/{told['id']}", headers=auth).json["updates"]) == 2


def test_the_owner_tells_updates_and_deletes_from_the_status_pages_page(acme, testapp):
    client, auth, page_id, _ = acme
    edit = client.get(f"/status-pages/{page_id}/edit")
    form = form_with_action(edit, f"/status-pages/{page_id}/announcements")
    form["title"] = "Planned move"
    form["impact"] = "none"
    form["status"] = "update"
    form["message"] = ""
    res = form.submit(status=422)
    assert res.html.find(id="message-new-error") and res.html.find(id="title-new")["value"] == "Planned move"
    form = form_with_action(res, f"/status-pages/{page_id}/announcements")
    form["message"] = "We move to a new host on Sunday."
    res = form.submit(status=302)
    assert res.headers["Location"].endswith(f"/status-pages/{page_id}/edit#announcements")
    edit = client.get(f"/status-pages/{page_id}/edit")
    (told,) = testapp.get("/api/announcements", headers=auth).json["announcements"]
    assert (told["title"], told["impact"]) == ("Planned move", "none")
    assert "impact-none" in public(testapp).html.find("section", class_="told")["class"]

    form = form_with_action(edit, f"/announcements/{told['id']}/updates")
    assert form["status"].value == "update"  # the last one's
    form["status"] = "resolved"
    form["message"] = "Done."
    form.submit(status=302)
    assert testapp.get(f"/api/announcements/{told['id']}", headers=auth).json["resolved_at"] is not None
    edit = client.get(f"/status-pages/{page_id}/edit")
    assert "resolved" in edit.html.find(id="announcements").h3.text
    confirm = client.get(f"/announcements/{told['id']}/delete")
    form_with_action(confirm, "/delete").submit(status=302)
    assert testapp.get("/api/announcements", headers=auth).json["announcements"] == []


def in_days(days, hour=0):
    return (utcnow() + datetime.timedelta(days=days, hours=hour)).replace(microsecond=0).isoformat() + "Z"


def test_maintenance_to_announce_is_shown_ahead_of_time(acme, testapp, target):
    _, auth, _, monitor = acme
    hidden = new_monitor(testapp, auth, name="hidden", url=target.url + "/ok")
    assert "Scheduled maintenance" not in public(testapp).text  # and kept rendered: a window's save forgets it

    soon, soon_over = in_days(2), in_days(2, 2)  # once: the seconds must not move between the two calls

    def window(name, **fields):
        body = {"name": name, "kind": "once", "starts_at": soon, "ends_at": soon_over, **fields}
        testapp.post_json("/api/maintenance", {"announce": True, **body}, headers=auth, status=201)

    window("db upgrade", monitor_ids=[monitor["id"]])
    window("quiet", monitor_ids=[monitor["id"]], announce=False)  # not to be announced
    window("elsewhere", monitor_ids=[hidden["id"]])  # not on this page
    window("far off", starts_at=in_days(20), ends_at=in_days(21))
    window("over", starts_at=in_days(-2), ends_at=in_days(-1))
    window("now, for all", starts_at=in_days(-1), ends_at=in_days(1))
    window(
        "every sunday",
        kind="weekly",
        starts_at=None,
        ends_at=None,
        days=["sun"],
        start_time="03:00",
        duration_minutes=60,
        timezone="Europe/Paris",
    )
    section = next(s for s in public(testapp).html.find_all("section") if s.h2.text == "Scheduled maintenance")
    items = {li.strong.text: li for li in section.find_all("li")}
    assert set(items) == {"db upgrade", "now, for all", "every sunday"}
    assert list(items)[0] == "now, for all" and items["now, for all"].find(class_="badge")  # on now, first
    assert "API" in items["db upgrade"].text and "hidden" not in section.text
    assert items["db upgrade"].find("time")["datetime"] == soon


def test_the_next_time_of_a_window():
    at = datetime.datetime(2026, 3, 27, 12, 0)  # a Friday; Paris moves to summer time on Sunday the 29th
    sunday = weekly("sun", "03:30", 60, "Europe/Paris")
    assert next_time(sunday, at) == (datetime.datetime(2026, 3, 29, 1, 30), datetime.datetime(2026, 3, 29, 2, 30))
    friday = weekly("fri", "12:00", 120, "UTC")
    assert next_time(friday, at) == (at, at + datetime.timedelta(hours=2))  # on now
    assert next_time(friday, at + datetime.timedelta(hours=2))[0] == datetime.datetime(2026, 4, 3, 12, 0)
