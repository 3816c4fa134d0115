"""The monitor pages in the browser flow (WebTest): dashboard, form, detail, actions, status pages."""

import pytest
from sqlalchemy import update

from myapp.models import Monitor
from myapp.models.meta import utcnow

from ..conftest import csrf_token, form_with_action, in_app
from .conftest import new_monitor, run_sql


@pytest.fixture
def ada(owner, browser):
    """(signed-in browser, API headers) of the owner."""
    return browser("ada@example.com"), owner[1]


def form(client, path="/monitors/new", **fields):
    page = client.get(path)
    values = {
        "name": "shop",
        "url": "https://shop.example.com/",
        "method": "GET",
        "interval": "60",
        "timeout": "10",
        "expect_status": "200-399",
        "tls_days": "14",
        "failures_to_down": "2",
        "successes_to_up": "1",
        "csrf_token": page.html.find("input", {"name": "csrf_token"})["value"],
        "action": "save",
    }
    values.update(fields)
    return values


def test_first_run_page_says_what_to_do(ada, testapp):
    client, _ = ada
    page = client.get("/monitors")
    assert "No monitors yet" in page.text and page.html.find("a", string="Add a monitor")
    testapp.get("/monitors", status=302)  # anonymous: sign in first


def test_dashboard_orders_counts_filters_and_pages(ada, app, target):
    client, auth = ada
    for n in range(52):
        new_monitor(client, auth, name=f"site {n:02d}", url=f"{target.url}/ok")
    run_sql(app, update(Monitor).where(Monitor.name == "site 30").values(state="DOWN"))
    run_sql(
        app,
        update(Monitor)
        .where(Monitor.name == "site 40")
        .values(state="UP", last_check_at=utcnow(), last_ok=True, last_latency_ms=42, recent="10,12,!3000,11"),
    )
    page = client.get("/monitors")
    names = [row.find("a").text for row in page.html.find(id="monitor-rows").find_all("tr")]
    assert len(names) == 50 and names[0] == "site 30" and names[1] == "site 00"  # DOWN first, then by name
    counts = {li.find("strong").text for li in page.html.find(id="counts").find_all("li")}
    assert "52" in counts and "1" in counts
    assert "Page 1 of 2" in page.text
    second = client.get("/monitors", {"page": 2})
    assert [r.find("a").text for r in second.html.find(id="monitor-rows").find_all("tr")][-1] == "site 40"
    up = client.get("/monitors", {"state": "UP"})
    row = up.html.find(id="monitor-rows").find("tr")
    assert "site 40" in row.text and "42 ms" in row.text and row.find("svg", class_="spark")
    assert "3 failed" not in row.text and "1 failed" in row.find("svg")["aria-label"]
    found = client.get("/monitors", {"q": "site 1"}).html.find(id="monitor-rows").find_all("tr")
    assert len(found) == 10  # site 10 ... site 19
    rows_only = client.get("/monitors", headers={"X-Rows-Only": "1"})
    assert rows_only.html.find(id="monitor-rows") and not rows_only.html.find("header")
    client.get("/monitors", {"state": "nonsense"}, status=404)
    client.get("/monitors", {"page": "0"}, status=404)


def test_the_form_keeps_values_and_shows_errors_next_to_fields(ada):
    client, _ = ada
    res = client.post(
        "/monitors/new",
        form(client, name="", url="ftp://nope", interval="abc", timeout="90", headers="not a header"),
        status=422,
    )
    errors = {p["id"].removesuffix("-error"): p.text for p in res.html.find_all("p", class_="error")}
    assert set(errors) >= {"name", "url", "interval", "timeout", "headers"}
    assert res.html.find("input", {"name": "url"})["value"] == "ftp://nope"
    assert res.html.find("textarea", {"name": "headers"}).text == "not a header"
    assert res.html.find("input", {"name": "url"})["aria-invalid"] == "true"
    assert client.get("/api/monitors").json["monitors"] == []  # nothing saved


def test_create_from_the_form_and_edit_it(ada, target):
    client, _ = ada
    res = client.post(
        "/monitors/new",
        form(client, name="shop", url=target.url + "/ok", keyword="all", headers="X-A: 1\nX-B: two", tags="prod, web"),
        status=302,
    )
    detail = client.get(res.location)
    assert "shop is added" in detail.text and "<h1>shop</h1>" in detail.text
    monitor = client.get("/api/monitors").json["monitors"][0]
    assert monitor["headers"] == {"X-A": "1", "X-B": "two"} and monitor["tags"] == ["prod", "web"]
    edit = client.get(f"/monitors/{monitor['id']}/edit")
    assert edit.html.find("textarea", {"name": "headers"}).text == "X-A: 1\nX-B: two"
    values = {field["name"]: field.get("value", "") for field in edit.html.find_all("input") if field.get("name")}
    values.update({"headers": "X-A: 1", "name": "shop renamed", "action": "save", "method": "GET", "body": ""})
    values.pop("paused", None)
    client.post(f"/monitors/{monitor['id']}/edit", values, status=302)
    changed = client.get(f"/api/monitors/{monitor['id']}").json
    assert changed["name"] == "shop renamed" and changed["headers"] == {"X-A": "1"} and changed["keyword"] == "all"


def test_the_test_button_checks_without_saving(ada, target):
    client, _ = ada
    res = client.post("/monitors/new", form(client, url=target.url + "/status/503", action="test"))
    result = res.html.find(class_="test-result")
    assert "failed" in result.text and "expected status 200-399, got 503" in result.text
    assert res.html.find("input", {"name": "url"})["value"] == target.url + "/status/503"
    assert client.get("/api/monitors").json["monitors"] == []
    assert len(target.hits_on("/status/503")) == 1


def test_detail_page_with_chart_incidents_and_results(ada, target):
    client, auth = ada
    monitor = new_monitor(client, auth, url=target.url + "/flip", failures_to_down=1)
    path = f"/monitors/{monitor['id']}"
    token = csrf_token(client, path)
    client.post(path + "/check", {"csrf_token": token}, status=302)
    target.flip_status = 500
    client.post(path + "/check", {"csrf_token": token}, status=302)
    page = client.get(path)
    assert "Checked: failed: expected status 200-399, got 500" in page.text
    svg = page.html.find("svg", class_="chart")
    assert svg.find("polyline", class_="latency") and svg.find("path", class_="fail")
    assert svg.find("rect", class_="down") and "ms" in svg.text  # DOWN shaded, axis labelled
    assert svg["role"] == "img" and page.html.find(id="chart-desc")
    incidents = page.html.find("h2", string="Incidents").find_parent("section")
    assert "ongoing" in incidents.text and "expected status 200-399, got 500" in incidents.text
    for range_ in ("7d", "30d"):
        assert client.get(path, {"range": range_}).html.find("svg", class_="chart")
    client.get(path, {"range": "1y"}, status=404)
    assert "DOWN" in client.get("/monitors").html.find(id="monitor-rows").text


def test_results_are_paginated(ada, target):
    client, auth = ada
    monitor = new_monitor(client, auth, url=target.url + "/ok")
    for _ in range(21):
        client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    page = client.get(f"/monitors/{monitor['id']}")
    older = page.html.find("a", string="Older checks")
    rows = page.html.find("h2", string="Recent checks").find_parent("section").find("tbody").find_all("tr")
    assert len(rows) == 20 and older
    rest = client.get(older["href"]).html.find("h2", string="Recent checks").find_parent("section")
    assert len(rest.find("tbody").find_all("tr")) == 1


def test_pause_resume_and_delete_with_confirmation(ada, target):
    client, auth = ada
    monitor = new_monitor(client, auth, url=target.url + "/ok")
    path = f"/monitors/{monitor['id']}"
    client.post(path + "/pause", {"paused": "1", "csrf_token": csrf_token(client, path)}, status=302)
    assert client.get(f"/api/monitors/{monitor['id']}").json["state"] == "PAUSED"
    assert client.get(path).html.find("button", string="Resume")
    client.post(path + "/pause", {"paused": "0", "csrf_token": csrf_token(client, path)}, status=302)
    assert client.get(f"/api/monitors/{monitor['id']}").json["state"] == "PENDING"
    confirm = client.get(path + "/delete")  # the flow every area's pages delete by (myapp.deleting)
    assert confirm.html.h1.text == f"Delete the monitor {monitor['name']}?"
    assert "uptime history are deleted too. This cannot be undone." in confirm.text
    assert confirm.html.find("a", string="Keep it")["href"] == path
    client.post(path + "/delete", {}, status=400)  # no CSRF token: nothing happens
    client.get(path, status=200)
    gone = form_with_action(confirm, "/delete").submit(status=302)
    assert gone.location.endswith("/monitors")
    assert f"The monitor {monitor['name']} is deleted." in gone.follow().text
    client.get(path, status=404)


def test_another_users_monitor_is_not_shown(ada, browser, make_user, target):
    client, auth = ada
    monitor = new_monitor(client, auth, name="ada's private shop", url=target.url + "/ok")
    make_user("eve@example.com")
    eve = browser("eve@example.com")
    for path in ("", "/edit", "/delete"):
        eve.get(f"/monitors/{monitor['id']}{path}", status=403)
    assert monitor["name"] not in eve.get("/monitors").text


def test_the_24h_chart_averages_passes_in_four_minute_slots(ada, app, target):
    """The database puts results in slots (TIMESTAMPDIFF on MariaDB, julianday on SQLite): same answer."""
    import datetime

    from sqlalchemy import insert

    from myapp.models import CheckResult
    from myapp.monitors import queries

    client, auth = ada
    monitor = new_monitor(client, auth, url=target.url + "/ok")
    now = datetime.datetime(2026, 11, 22, 12, 0, 0)
    start = now - datetime.timedelta(hours=24)
    rows = [  # slot 0: two passes and a failure; slot 1 (from 4 min on): one pass; the last slot; too old
        (start + datetime.timedelta(seconds=1), True, 100),
        (start + datetime.timedelta(seconds=239), True, 300),
        (start + datetime.timedelta(seconds=120), False, 9000),
        (start + datetime.timedelta(seconds=240), True, 50),
        (now - datetime.timedelta(seconds=1), False, 10),
        (start - datetime.timedelta(seconds=1), True, 7),
    ]
    in_app(
        app,
        lambda session: session.execute(
            insert(CheckResult),
            [{"monitor_id": monitor["id"], "at": at, "ok": ok, "latency_ms": ms} for at, ok, ms in rows],
        ),
    )
    points, first, end = in_app(app, lambda session: queries.latency_points(session, monitor["id"], "24h", now=now))
    assert (first, end) == (start, now)
    minute = datetime.timedelta(minutes=1)
    assert [(p.at, p.latency_ms, p.failed, p.checks) for p in points] == [
        (start + 2 * minute, 200, 1, 3),
        (start + 6 * minute, 50, 0, 1),
        (now - 2 * minute, None, 1, 1),
    ]


def test_an_outage_of_seconds_still_shows_on_a_day_long_chart():
    import datetime

    from myapp.monitors.charts import latency_chart

    end = utcnow()
    start = end - datetime.timedelta(hours=24)
    short = (end - datetime.timedelta(hours=2), end - datetime.timedelta(hours=2) + datetime.timedelta(seconds=4))
    before = (start - datetime.timedelta(hours=3), start - datetime.timedelta(hours=2))
    chart = latency_chart([], start, end, down_periods=[short, before])
    assert [(period["begin"], period["end"]) for period in chart["down"]] == [short]
    assert chart["down"][0]["width"] >= 2


def test_the_incidents_page_lists_every_monitors_newest_first(ada, browser, make_user, target):
    client, auth = ada
    shop = new_monitor(client, auth, name="shop", url=target.url + "/flip", failures_to_down=1)
    api = new_monitor(client, auth, name="api <b>", url=target.url + "/status/500", failures_to_down=1)
    new_monitor(client, auth, name="calm", url=target.url + "/ok")
    check = lambda monitor: client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)  # noqa: E731
    target.flip_status = 500
    check(shop)  # shop: DOWN, then UP again
    target.flip_status = 200
    check(shop)
    check(api)  # api: DOWN, still
    page = client.get("/monitors").click("Incidents")
    rows = [[td.text.strip() for td in tr.find_all("td")] for tr in page.html.select("#incidents tbody tr")]
    assert [row[0] for row in rows] == ["api <b>", "shop"]  # newest first; the name escaped, not markup
    assert rows[0][2].startswith("ongoing") and "got 500" in rows[0][3]
    assert not rows[1][2].startswith("ongoing")

    ongoing = client.get("/incidents", {"open": "true"}).html.select("#incidents tbody tr")
    assert [tr.find("td").text for tr in ongoing] == ["api <b>"]
    one = client.get("/incidents", {"monitor": shop["id"], "open": ""})
    assert "Incidents of shop" in one.html.h1.text and len(one.html.select("#incidents tbody tr")) == 1
    first = client.get("/incidents", {"limit": "1"})
    assert len(first.html.select("#incidents tbody tr")) == 1
    rest = first.click("Older incidents").html.select("#incidents tbody tr")
    assert [tr.find("td").text for tr in rest] == ["shop"]
    assert "All of its incidents" in client.get(f"/monitors/{shop['id']}").text

    for bad in ({"monitor": "x"}, {"open": "maybe"}, {"limit": "1000"}, {"color": "red"}):
        assert "Nothing is at /incidents" in client.get("/incidents", bad, status=404).text
    make_user("eve@example.com")
    eve = browser("eve@example.com")
    eve.get("/incidents", {"monitor": shop["id"]}, status=404)  # not hers: as if it did not exist
    assert "shop" not in eve.get("/incidents").text
    browser().get("/incidents", status=302)  # signed out: to the sign-in page


def test_tags_are_shown_filtered_and_searched(ada, target):
    client, auth = ada
    new_monitor(client, auth, name="shop", url=target.url + "/ok", tags=["prod", "café"])
    new_monitor(client, auth, name="staging shop", url=target.url + "/ok", tags=["staging"])
    new_monitor(client, auth, name="blog", url=target.url + "/ok", tags=["production"])
    new_monitor(client, auth, name="quoted", url=target.url + "/ok", tags=['a"x', "100%_\\"])

    def names(**params):
        page = client.get("/monitors", params)
        return sorted(a.text for a in page.html.select("#monitor-rows td:nth-child(2) > a"))

    page = client.get("/monitors")
    chips = {a.text: a["href"] for a in page.html.select("#monitor-rows a.tag")}
    assert set(chips) == {"prod", "café", "staging", "production", 'a"x', "100%_\\"}
    assert client.get(chips["café"]).html.select("#monitor-rows td:nth-child(2) > a")[0].text == "shop"
    assert names(tag="prod") == ["shop"]  # the whole tag, not a part of "production"
    assert names(tag="café") == ["shop"] and names(tag="cafe") == names(tag="Prod") == names(tag="nothing") == []
    assert names(q="staging") == ["staging shop"] and names(q="production") == ["blog"]  # a name or a tag
    assert names(tag="prod", q="blog") == []
    # quotes, wildcards, backslashes: only a tag of those very characters ('"x"' occurs in the JSON of 'a"x')
    assert names(tag='"%_\\') == [] and names(tag="x") == [] and names(tag="%") == []
    assert names(tag='a"x') == names(tag="100%_\\") == ["quoted"]


def test_monitors_are_paused_resumed_and_deleted_together(ada, browser, make_user, target):
    client, auth = ada
    shop, blog, docs = (new_monitor(client, auth, name=n, url=target.url + "/ok") for n in ("shop", "blog", "docs"))
    make_user("eve@example.com")
    eve = browser("eve@example.com")
    eves = new_monitor(eve, {"X-CSRF-Token": csrf_token(eve, "/monitors")}, name="eve's", url=target.url + "/ok")

    def state(monitor, who=client):
        return who.get(f"/api/monitors/{monitor['id']}").json["state"]

    bulk = form_with_action(client.get("/monitors"), "/monitors/bulk")
    token = bulk["csrf_token"].value
    post = lambda action, ids, **more: client.post(  # noqa: E731
        "/monitors/bulk", {"action": action, "ids": [str(i) for i in ids], "csrf_token": token, **more}
    )
    res = post("pause", [shop["id"], blog["id"], eves["id"]]).follow()
    assert "2 monitors are paused." in res.text
    assert [state(shop), state(blog), state(docs), state(eves, eve)] == ["PAUSED", "PAUSED", "PENDING", "PENDING"]
    assert "1 monitor is checked again." in post("resume", [blog["id"]]).follow().text
    assert state(blog) == "PENDING"

    confirm = post("delete", [shop["id"], docs["id"], eves["id"]])
    assert confirm.status_int == 200 and "Delete 2 monitors?" in confirm.text
    assert [li.text for li in confirm.html.select("ul.names li")] == ["docs", "shop"]  # eve's is not named
    client.get(f"/api/monitors/{shop['id']}")  # nothing is deleted before the answer
    assert "2 monitors are deleted." in form_with_action(confirm, "/monitors/bulk").submit().follow().text
    client.get(f"/api/monitors/{shop['id']}", status=404)
    assert state(blog) == "PENDING" and state(eves, eve) == "PENDING"

    for action, ids in (("explode", [blog["id"]]), ("pause", []), ("pause", ["x"]), ("pause", range(1, 60))):
        assert "Tick between 1 and 50" in post(action, ids).follow().text
    assert "None of the monitors ticked is yours" in post("pause", [eves["id"]]).follow().text
    assert state(eves, eve) == "PENDING"
    client.post("/monitors/bulk", {"action": "pause", "ids": [str(blog["id"])]}, status=400)  # no CSRF token
