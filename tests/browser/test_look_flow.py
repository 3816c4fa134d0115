"""How pages look, in Chromium: a status page's services put in order with the form's ↑ and ↓ buttons, and
the pages in a dark colour scheme when the visitor's system asks for one."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as page_shows
from selenium.webdriver.support.ui import WebDriverWait

from ..conftest import PASSWORD, csrf_token
from ..monitors.conftest import TargetServer, new_monitor
from .test_dashboard_flow import click_and_load, fill

pytestmark = pytest.mark.one_backend  # a page in a browser; the backends' own tests are elsewhere


@pytest.fixture
def target():
    server = TargetServer().start()
    yield server
    server.stop()


def colours(driver, selector):
    """(text colour, background colour) Chromium computes for the first element matching ``selector``."""
    return tuple(
        driver.execute_script(
            "var s = getComputedStyle(document.querySelector(arguments[0]));return [s.color, s.backgroundColor];",
            selector,
        )
    )


def brightness(rgb):
    red, green, blue = (int(part) for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return (299 * red + 587 * green + 114 * blue) / 1000


def sign_in(driver, base, email):
    driver.get(base + "/login")
    fill(driver, email=email, password=PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    WebDriverWait(driver, 30).until(page_shows.url_contains("/monitors"))


def test_a_status_pages_services_are_put_in_order(chromium, live_url, testapp, make_user, make_key, target):
    user = make_user("mo@example.com")
    auth = {"Authorization": f"Bearer {make_key(user, 'write')[1]}"}
    for name in ("alpha", "beta", "gamma"):
        new_monitor(testapp, auth, name=name, url=target.url + "/ok")
    sign_in(chromium, live_url, "mo@example.com")

    chromium.get(live_url + "/status-pages")
    fill(chromium, title="Mo's services", slug="mo-s")
    for box in chromium.find_elements(By.CSS_SELECTOR, "input[name=monitors]"):
        box.click()
    chromium.find_element(By.CSS_SELECTOR, "button[aria-label='Move gamma up']").click()
    chromium.find_element(By.CSS_SELECTOR, "button[aria-label='Move gamma up']").click()
    chromium.find_element(By.CSS_SELECTOR, "button[aria-label='Move alpha down']").click()
    chromium.find_element(By.XPATH, "//button[text()='Make the page']").click()
    WebDriverWait(chromium, 30).until(page_shows.url_contains("/edit"))
    listed = [label.text.split()[0] for label in chromium.find_elements(By.CSS_SELECTOR, "ol[data-reorder] label")]
    assert listed == ["gamma", "beta", "alpha"]

    chromium.get(live_url + "/status/mo-s")
    shown = [h.text for h in chromium.find_elements(By.CSS_SELECTOR, "section.service h2")]
    assert shown == ["gamma", "beta", "alpha"]


def test_pages_follow_a_dark_colour_scheme(
    chromium, live_url, testapp, browser, make_user, make_key, target, screenshot
):
    user = make_user("di@example.com")
    auth = {"Authorization": f"Bearer {make_key(user, 'write')[1]}"}
    monitor = new_monitor(testapp, auth, name="Shop", url=target.url + "/ok")
    testapp.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    client = browser("di@example.com")
    page = {
        "title": "Di",
        "slug": "di-s",
        "monitors": str(monitor["id"]),
        "csrf_token": csrf_token(client, "/status-pages"),
    }
    client.post("/status-pages", page, status=302)
    sign_in(chromium, live_url, "di@example.com")

    pages = ("/monitors", f"/monitors/{monitor['id']}", "/status/di-s", "/account")
    for path in pages:
        chromium.get(live_url + path)
        text, background = colours(chromium, "body")
        assert brightness(background) > 200 and brightness(text) < 100, (path, text, background)  # dark on light

    chromium.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    for path in pages:
        chromium.get(live_url + path)
        text, background = colours(chromium, "body")
        assert brightness(background) < 60 and brightness(text) > 180, (path, text, background)
        # every card, table and field is drawn on the dark scheme's surfaces: none is left white
        for selector in (".card", "table", "input", "select", "textarea", "section.service", ".bars"):
            for element in chromium.find_elements(By.CSS_SELECTOR, selector)[:3]:
                fill_colour = element.value_of_css_property("background-color")
                if fill_colour != "rgba(0, 0, 0, 0)":
                    assert brightness(fill_colour) < 120, (path, selector, fill_colour)
        screenshot("dark" + path.replace("/", "-"))


def test_a_maintenance_window_is_entered_in_the_viewers_time_zone(chromium, live_url, make_user, testapp, make_key):
    user = make_user("tz@example.com")
    sign_in(chromium, live_url, "tz@example.com")
    chromium.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
    chromium.get(live_url + "/maintenance")
    assert chromium.find_element(By.NAME, "timezone").get_attribute("value") == "Asia/Tokyo"
    fill(chromium, name="upgrade")
    for name, value in (("starts_at", "2026-12-02T09:00"), ("ends_at", "2026-12-02T10:30")):
        chromium.execute_script("arguments[0].value = arguments[1]", chromium.find_element(By.NAME, name), value)
    click_and_load(chromium, chromium.find_element(By.XPATH, "//button[text()='Add the window']"))
    WebDriverWait(chromium, 30).until(page_shows.presence_of_element_located((By.CSS_SELECTOR, ".notice.ok")))
    auth = {"Authorization": f"Bearer {make_key(user, 'read')[1]}"}
    (window,) = testapp.get("/api/maintenance", headers=auth).json["windows"]
    assert (window["starts_at"], window["ends_at"]) == ("2026-12-02T00:00:00Z", "2026-12-02T01:30:00Z")
    assert "Dec 2, 9:00" in chromium.find_element(By.TAG_NAME, "table").text  # shown back in Tokyo's time


def test_monitors_stay_ticked_as_the_list_refreshes_and_are_paused_together(
    chromium, make_myapp, serve, make_user, make_key, testapp, target
):
    base = serve(make_myapp(**{"monitors.refresh_seconds": "1"}).app)
    user = make_user("bo@example.com")
    auth = {"Authorization": f"Bearer {make_key(user, 'write')[1]}"}
    for name in ("alpha", "beta", "gamma"):
        new_monitor(testapp, auth, name=name, url=target.url + "/ok", tags=["team"])
    sign_in(chromium, base, "bo@example.com")
    chromium.find_element(By.CSS_SELECTOR, "input[data-tick-all]").click()  # shown by the script
    rows = chromium.find_element(By.ID, "monitor-rows")
    WebDriverWait(chromium, 30).until(page_shows.staleness_of(rows))  # the rows were replaced by fresh ones
    ticked = chromium.execute_script(
        "return Array.from(document.querySelectorAll('#monitor-rows input[name=ids]')).map(b => b.checked)"
    )
    assert ticked == [True, True, True]
    click_and_load(chromium, chromium.find_element(By.XPATH, "//button[text()='Pause']"))
    notice = WebDriverWait(chromium, 30).until(page_shows.presence_of_element_located((By.CSS_SELECTOR, ".notice.ok")))
    assert notice.text == "3 monitors are paused."
    states = {m["name"]: m["state"] for m in testapp.get("/api/monitors", headers=auth).json["monitors"]}
    assert states == {"alpha": "PAUSED", "beta": "PAUSED", "gamma": "PAUSED"}
