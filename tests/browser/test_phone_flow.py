"""Every page at a desktop's width and a phone's (1280 and 390 px), in Chromium: nothing sticks out sideways,
the monitor list fits a phone as one card per monitor, the chart's labels stay whole and legible, and the
recent checks' times keep to one line (to the second for monitors checked more than once a minute)."""

import datetime
import re

import pytest

from ..conftest import csrf_token
from ..monitors.conftest import TargetServer, new_monitor
from .test_look_flow import sign_in

pytestmark = pytest.mark.one_backend  # a page in a browser; the backends' own tests are elsewhere


LONG_PATH = "/ok?" + "&".join(f"parameter{n}=a-rather-long-value-{n}" for n in range(6))

# what sticks out past the window's right edge, but inside a box that scrolls sideways on purpose
OVERFLOWING = """
var width = document.documentElement.clientWidth, out = [];
document.querySelectorAll("body *").forEach(function (el) {
  if (el.closest(".table-wrap") || !el.getClientRects().length) return;
  var box = el.getBoundingClientRect();
  if (box.right > width + 1) out.push(el.tagName + "." + el.className + " " + Math.round(box.right));
});
return {page: document.documentElement.scrollWidth, window: width, out: out.slice(0, 5)};
"""

# the chart's labels: rendered height, and whether each lies whole inside the chart
CHART_LABELS = """
var svg = document.querySelector("svg.chart").getBoundingClientRect();
return Array.from(document.querySelectorAll("svg.chart text.axis")).map(function (t) {
  var b = t.getBoundingClientRect();
  return {text: t.textContent, size: parseFloat(getComputedStyle(t).fontSize) * svg.width / 720,
          inside: b.left >= svg.left - 0.5 && b.right <= svg.right + 0.5 && b.top >= svg.top - 0.5 && b.bottom <= svg.bottom + 0.5};
});
"""


@pytest.fixture
def world(live_url, testapp, browser, make_user, make_key):
    """A user with three monitors (one with a very long address, one failing), checked, and a status page."""
    target = TargetServer().start()
    user = make_user("pat@example.com")
    auth = {"Authorization": f"Bearer {make_key(user, 'write')[1]}"}
    monitors = [
        new_monitor(testapp, auth, name="Shop front", url=target.url + LONG_PATH),
        new_monitor(testapp, auth, name="Payments API", url=target.url + "/status/503", failures_to_down=1),
        new_monitor(testapp, auth, name="Docs", url=target.url + "/ok", interval=120),
    ]
    for monitor in monitors:
        for _ in range(3):
            testapp.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    client = browser("pat@example.com")
    token = csrf_token(client, "/status-pages")
    ids = [str(m["id"]) for m in monitors]
    client.post("/status-pages", {"title": "Pat", "slug": "pat", "monitors": ids, "csrf_token": token}, status=302)
    page_id = client.get("/status-pages").html.find("a", string="Edit")["href"].split("/")[2]
    # what the owner tells visitors: an open incident with a long unbroken word, a resolved one, maintenance ahead
    told = {"status_page": "pat", "impact": "major", "status": "investigating"}
    testapp.post_json(
        "/api/announcements",
        {**told, "title": "Payments fail for some cards", "message": "See " + target.url + LONG_PATH},
        headers=auth,
    )
    past = testapp.post_json("/api/announcements", {**told, "title": "Slow pages", "message": "x"}, headers=auth)
    testapp.post_json(past.headers["Location"] + "/updates", {"status": "resolved", "message": "ok"}, headers=auth)
    soon = datetime.datetime.now(datetime.UTC).replace(microsecond=0, tzinfo=None) + datetime.timedelta(days=1)
    ends = soon + datetime.timedelta(hours=2)
    window = {"kind": "once", "starts_at": soon.isoformat() + "Z", "ends_at": ends.isoformat() + "Z"}
    testapp.post_json(
        "/api/maintenance",
        {"name": "Database upgrade", "announce": True, "monitor_ids": [m["id"] for m in monitors], **window},
        headers=auth,
    )
    yield {"base": live_url, "monitors": monitors, "page_id": page_id}
    target.stop()


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_fits_the_screen(chromium, world, width, screenshot):
    base, (shop, payments, docs) = world["base"], world["monitors"]
    sign_in(chromium, base, "pat@example.com")
    chromium.set_window_size(width, 900)
    paths = [
        "/monitors",
        f"/monitors/{shop['id']}",
        f"/monitors/{payments['id']}?range=1h",
        f"/monitors/{shop['id']}/edit",
        "/monitors/new",
        "/status-pages",
        f"/status-pages/{world['page_id']}/edit",
        "/channels",
        "/maintenance",
        "/account",
        "/status/pat",
    ]
    for path in paths:
        chromium.get(base + path)
        found = chromium.execute_script(OVERFLOWING)
        assert found["page"] <= found["window"] and not found["out"], (path, found)
    assert "Payments fail for some cards" in chromium.find_element("css selector", "section.told").text
    assert "Database upgrade" in chromium.page_source
    if width == 390:
        screenshot("phone-status")

    chromium.get(base + "/monitors")
    rows = chromium.execute_script(
        "return Array.from(document.querySelectorAll('#monitor-rows tr')).map(function (tr) {"
        "  return Array.from(tr.cells).map(function (td) { var b = td.getBoundingClientRect();"
        "    return [td.innerText.trim(), b.right, b.width]; }); });"
    )
    assert len(rows) == 3
    for cells in rows:
        state, name, last, uptime, _ = cells
        assert name[0] and uptime[0].endswith("%") and uptime[1] <= chromium.execute_script("return innerWidth")
    if width == 390:
        screenshot("phone-dashboard")

    chromium.get(base + f"/monitors/{shop['id']}?range=1h")
    assert chromium.find_element("css selector", "#chart-title").text == "Latency, last hour"
    labels = chromium.execute_script(CHART_LABELS)
    assert any(label["text"].endswith("ms") for label in labels) and any(":" in label["text"] for label in labels)
    for label in labels:
        assert label["inside"], label
        assert label["size"] >= 9.5, label  # pixels on the screen, at either width
    times = chromium.execute_script(
        "return Array.from(document.querySelectorAll('table.list time')).map(function (t) {"
        "  return [t.textContent, t.getBoundingClientRect().height, parseFloat(getComputedStyle(t).lineHeight)]; });"
    )
    assert times
    for text, height, line in times:
        assert height < 1.5 * line, text  # one line
        assert re.search(r"\d:\d\d:\d\d", text), text  # checked every 30 s: to the second
    if width == 390:
        screenshot("phone-monitor")
        chromium.execute_script("document.querySelector('svg.chart').scrollIntoView()")
        screenshot("phone-chart")

    chromium.get(base + f"/monitors/{docs['id']}")
    every_two_minutes = chromium.find_element("css selector", "table.list time").text
    assert not re.search(r"\d:\d\d:\d\d", every_two_minutes), every_two_minutes
