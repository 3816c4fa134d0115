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
    confirm = client.get(path + "/delete")
    assert "cannot be undone" in confirm.text
    client.post(path + "/delete", {}, status=400)  # no CSRF token: nothing happens
    client.get(path, status=200)
    form_with_action(confirm, "/delete").submit(status=302)
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
