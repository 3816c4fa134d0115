"""Status pages: made by their owner in the browser, shown to anyone, cached, read in few rows."""

import pytest
from sqlalchemy import update

from myapp.models import Monitor

from ..conftest import csrf_token, form_with_action, in_app
from ..monitors.conftest import new_monitor, run_sql


@pytest.fixture
def ada(owner, browser):
    """(signed-in browser, API headers) of the owner."""
    return browser("ada@example.com"), owner[1]


def test_status_pages_are_made_and_shown_to_anyone(ada, testapp, target):
    client, auth = ada
    shown = new_monitor(client, auth, name="API", url=target.url + "/status/500", failures_to_down=1)
    new_monitor(client, auth, name="secret admin", url=target.url + "/ok")
    client.post(f"/api/monitors/{shown['id']}/check", headers=auth)
    page = client.get("/status-pages")
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    res = client.post(
        "/status-pages",
        {"title": "Acme", "slug": "Bad Slug!", "monitors": [str(shown["id"])], "csrf_token": token},
        status=422,
    )
    assert res.html.find(id="slug-error") and res.html.find("input", {"name": "title"})["value"] == "Acme"
    res = client.post(
        "/status-pages",
        {"title": "Acme", "slug": "acme", "monitors": [str(shown["id"]), "999999"], "csrf_token": token},
        status=302,
    )
    public = testapp.get("/status/acme", headers={"Cookie": ""})
    assert public.headers["Cache-Control"] in ("public, max-age=30", "max-age=30, public")
    assert "Set-Cookie" not in public.headers
    assert "Acme" in public.text and "API" in public.text and "secret admin" not in public.text
    assert target.url not in public.text  # no addresses unless the owner says so
    assert "1 of 1 service is down" in public.text and "Ongoing incidents" in public.text
    assert "expected status" not in public.text  # nor causes, which may name internal hosts
    days = public.html.find(class_="bars").find_all("span")
    assert len(days) == 90 and days[-1]["title"].endswith(": 0%") and days[0]["title"].endswith("no data")
    edit = client.get(res.location)
    values = {
        "title": "Acme status",
        "slug": "acme",
        "show_urls": "on",
        "monitors": [str(shown["id"])],
        "csrf_token": edit.html.find("input", {"name": "csrf_token"})["value"],
    }
    client.post(res.location, values, status=302)
    assert target.url in testapp.get("/status/acme").text
    other = client.post("/status-pages", {"title": "Other", "slug": "acme", "csrf_token": token}, status=409)
    assert "taken" in other.html.find(id="slug-error").text
    testapp.get("/status/nobody-here", status=404)
    delete = client.get(res.location.replace("/edit", "/delete"))
    form_with_action(delete, "/delete").submit(status=302)
    testapp.get("/status/acme", status=404)


def test_a_public_page_is_served_from_the_cache_until_its_owner_saves(ada, app, testapp, target):
    client, auth = ada
    shown = new_monitor(client, auth, name="API", url=target.url + "/ok")
    token = csrf_token(client, "/status-pages")
    res = client.post(
        "/status-pages",
        {"title": "Acme", "slug": "acme", "monitors": [str(shown["id"])], "csrf_token": token},
        status=302,
    )
    assert "All 1 services are operational" not in testapp.get("/status/acme").text  # PENDING is not operational
    run_sql(app, update(Monitor).where(Monitor.id == shown["id"]).values(state="DOWN"))
    assert "is down" not in testapp.get("/status/acme").text  # the page rendered before, for 30 s
    edit = client.get(res.location)
    client.post(
        res.location,
        {
            "title": "Acme",
            "slug": "acme-2",
            "monitors": [str(shown["id"])],
            "csrf_token": edit.html.find("input", {"name": "csrf_token"})["value"],
        },
        status=302,
    )
    testapp.get("/status/acme", status=404)  # the old address is gone at once, not in 30 s
    assert "1 of 1 service is down" in testapp.get("/status/acme-2").text


def test_the_public_page_cache_is_bounded_and_expires(monkeypatch):
    from myapp.status_pages import cache as module
    from myapp.status_pages.cache import PublicCache

    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    cache = PublicCache(seconds=30, size=2)
    cache.put("a", "A")
    cache.put("b", "B")
    cache.put("c", "C")  # full of live pages: the oldest goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "B", "C")
    now[0] += 31
    assert cache.get("b") is None
    cache.put("d", "D")  # the expired pages make room
    assert len(cache._pages) == 1 and cache.get("d") == "D"
    off = PublicCache(seconds=0)
    off.put("a", "A")
    assert off.get("a") is None


def test_daily_bars_read_each_monitors_days_in_one_row(ada, app, target):
    import datetime

    from sqlalchemy import insert

    from myapp.models import DailyRollup
    from myapp.monitors import queries

    client, auth = ada
    one, two = (new_monitor(client, auth, name=n, url=target.url + "/ok")["id"] for n in ("one", "two"))
    now = datetime.datetime(2026, 11, 22, 12, 0, 0)
    today = datetime.datetime(2026, 11, 22)
    day = datetime.timedelta(days=1)
    in_app(
        app,
        lambda session: session.execute(
            insert(DailyRollup),
            [
                {"monitor_id": one, "period": today, "checks": 1440, "passes": 1440},
                {"monitor_id": one, "period": today - day, "checks": 3, "passes": 1},
                {"monitor_id": one, "period": today - 89 * day, "checks": 0, "passes": 0},
                {"monitor_id": one, "period": today - 90 * day, "checks": 5, "passes": 5},  # older than the 90 days
                {"monitor_id": two, "period": today - 2 * day, "checks": 2000, "passes": 1000},
            ],
        ),
    )
    bars = in_app(app, lambda session: queries.daily_bars(session, [one, two], now=now))
    assert len(bars[one]) == len(bars[two]) == 90
    assert bars[one][-1] == ("2026-11-22", 100.0) and bars[one][-2] == ("2026-11-21", 33.33)
    assert bars[one][0] == ("2026-08-25", None)
    assert [pct for _, pct in bars[one][1:88]] == [None] * 87
    assert bars[two][-3] == ("2026-11-20", 50.0) and [p for _, p in bars[two]].count(None) == 89


def test_the_form_shows_and_keeps_the_pages_order(ada, testapp, target):
    """Saving the page unchanged keeps the order it was given (here by the form's own post, as a manifest
    or a script would give it): the chosen monitors come first, in that order, and post in that order."""
    client, auth = ada
    alpha, beta, gamma = (new_monitor(client, auth, name=n, url=target.url + "/ok") for n in ("alpha", "beta", "gamma"))
    token = csrf_token(client, "/status-pages")
    res = client.post(
        "/status-pages",
        {"title": "Order", "slug": "order", "monitors": [str(gamma["id"]), str(alpha["id"])], "csrf_token": token},
        status=302,
    )

    def shown():
        page = testapp.get("/status/order", headers={"Cookie": ""}).html
        return [h.text for h in page.select("section.service h2")]

    assert shown() == ["gamma", "alpha"]
    edit = client.get(res.location)
    listed = [box["value"] for box in edit.html.select("ol[data-reorder] input[name=monitors]")]
    assert listed == [str(gamma["id"]), str(alpha["id"]), str(beta["id"])]  # chosen in order, then the rest
    form = form_with_action(edit, "/edit")
    form.set("title", "Order, renamed")
    form.submit(status=302)
    assert shown() == ["gamma", "alpha"]


def test_badges_show_state_and_uptime_only_when_the_owner_allows(ada, testapp, target):
    import xml.etree.ElementTree as ET

    client, auth = ada
    shop = new_monitor(client, auth, name="secret shop", url=target.url + "/status/500", failures_to_down=1)
    client.post(f"/api/monitors/{shop['id']}/check", headers=auth)
    anyone = {"headers": {"Cookie": ""}}
    for kind in ("status", "uptime-24h"):
        testapp.get(f"/badges/{shop['id']}/{kind}.svg", status=404, **anyone)  # not public: as if it did not exist
    assert "Badges" not in client.get(f"/monitors/{shop['id']}").text

    client.patch_json(f"/api/monitors/{shop['id']}", {"public_badges": True}, headers=auth)
    page = client.get(f"/monitors/{shop['id']}")
    assert f"/badges/{shop['id']}/status.svg" in page.html.find(id="badge-markdown").text

    res = testapp.get(f"/badges/{shop['id']}/status.svg", status=200, **anyone)
    assert res.content_type == "image/svg+xml" and "public" in res.headers["Cache-Control"]
    svg = ET.fromstring(res.body)
    assert svg.get("aria-label") == "status: DOWN" and "secret shop" not in res.text and target.url not in res.text
    uptime = testapp.get(f"/badges/{shop['id']}/uptime-24h.svg", **anyone)
    assert ET.fromstring(uptime.body).get("aria-label") == "uptime 24h: 0%"
    odd = testapp.get(f"/badges/{shop['id']}/uptime-30d.svg", {"label": "<script>x</script>" * 9}, **anyone)
    label = ET.fromstring(odd.body).get("aria-label")
    assert (
        label.startswith("<script>x</script><script>x")
        and len(label) == 40 + len(": 0%")
        and "<script>" not in odd.text
    )
    testapp.get(f"/badges/{shop['id']}/uptime-1y.svg", status=404, **anyone)
    testapp.get("/badges/999999/status.svg", status=404, **anyone)
    assert testapp.get(f"/badges/{shop['id']}/status.svg", {"label": "a\nb"}, **anyone).text.count("status") >= 1
    for odd in ("\ufffe", "a\uffffb", "\x85", "\u2028", "\x7f"):  # no XML document may hold them: the word it has
        svg = ET.fromstring(testapp.get(f"/badges/{shop['id']}/status.svg", {"label": odd}, **anyone).body)
        assert svg.get("aria-label") == "status: DOWN", repr(odd)
