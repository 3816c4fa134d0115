"""A new user, in Chromium: sign up, add a monitor with the form, watch it on the dashboard (which refreshes by
itself), open its chart, make a status page and open it signed out."""

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as page_shows
from selenium.webdriver.support.ui import WebDriverWait

from ..monitors.conftest import TargetServer

pytestmark = pytest.mark.one_backend  # a page in a browser; the backends' own tests are elsewhere


def fill(driver, **fields):
    for name, value in fields.items():
        box = driver.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)


def click_and_load(driver, element, seconds=30):
    """Click ``element`` and wait until the page it leads to replaced this one: what is looked for next
    is then on the new page, not found on the old one as it goes. The old page is marked and the new one
    is known by lacking the mark; Chromium can answer "Node with given id does not belong to the document"
    for anything asked of a page while it is being replaced (even selenium's own staleness check), so such
    an answer is polled past, not taken as the result."""
    driver.execute_script("window.myappLeaving = true")
    element.click()
    WebDriverWait(driver, seconds, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.myappLeaving === undefined && document.readyState === 'complete'")
    )


def rows_text(driver):
    # read in one step: the page replaces the element every refresh, so a found element can go stale before
    # its text is read
    return driver.execute_script("return document.getElementById('monitor-rows').innerText")


def test_sign_up_add_a_monitor_watch_it_and_share_a_status_page(chromium, scheduled_url, screenshot):
    target = TargetServer().start()
    try:
        wait = WebDriverWait(chromium, 40)
        base = scheduled_url
        chromium.get(base + "/signup")
        fill(chromium, email="lin@example.com", display_name="Lin", password="a long enough password")
        chromium.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
        wait.until(page_shows.url_contains("/monitors"))
        assert "No monitors yet" in chromium.page_source  # the first-run page says what to do
        chromium.find_element(By.LINK_TEXT, "Add a monitor").click()

        wait.until(page_shows.url_contains("/monitors/new"))
        fill(chromium, name="Shop", url=target.url + "/flip", interval="2", timeout="1")
        screenshot("form")
        chromium.find_element(By.CSS_SELECTOR, "button[value=test]").click()  # try it first: nothing saved
        result = wait.until(page_shows.visibility_of_element_located((By.CLASS_NAME, "test-result")))
        assert "passed" in result.text and "Status 200" in result.text
        chromium.find_element(By.CSS_SELECTOR, "button[value=save]").click()
        wait.until(page_shows.url_matches(r"/monitors/\d+$"))
        detail = chromium.current_url

        chromium.find_element(By.LINK_TEXT, "Monitors").click()
        wait.until(page_shows.presence_of_element_located((By.ID, "monitor-rows")))
        # the scheduler checks it within 2 s; the list refreshes itself, in place, every 15 s
        marker = chromium.find_element(By.TAG_NAME, "h1")
        wait.until(lambda driver: "UP" in rows_text(driver))
        assert marker.is_displayed()  # the same page: refreshed in place, not reloaded
        screenshot("dashboard")

        target.flip_status = 503
        wait.until(lambda driver: "DOWN" in rows_text(driver))
        target.flip_status = 200
        wait.until(lambda driver: "UP" in rows_text(driver))

        chromium.get(detail)
        chart = wait.until(page_shows.presence_of_element_located((By.CSS_SELECTOR, "svg.chart")))
        assert chart.find_elements(By.CSS_SELECTOR, "polyline.latency")
        assert chart.find_elements(By.CSS_SELECTOR, "path.fail") and chart.find_elements(By.CSS_SELECTOR, "rect.down")
        assert "expected status 200-399, got 503" in chromium.find_element(By.TAG_NAME, "main").text
        local = chromium.find_element(By.CSS_SELECTOR, "time[data-local]").text
        assert "UTC" not in local  # the script shows times in the viewer's time zone
        screenshot("monitor")

        chromium.find_element(By.LINK_TEXT, "Status pages").click()
        fill(chromium, title="Lin's services", slug="lin")
        chromium.find_element(By.CSS_SELECTOR, "input[name=monitors]").click()
        chromium.find_element(By.XPATH, "//button[text()='Make the page']").click()
        wait.until(page_shows.url_contains("/edit"))

        chromium.delete_all_cookies()  # signed out
        chromium.get(base + "/status/lin")
        wait.until(page_shows.presence_of_element_located((By.CLASS_NAME, "bars")))
        text = chromium.find_element(By.TAG_NAME, "main").text
        assert "Lin's services" in text and "Shop" in text and "Operational" in text and target.url not in text
        assert len(chromium.find_elements(By.CSS_SELECTOR, ".bars span")) == 90
        screenshot("status")

        chromium.set_window_size(390, 844)  # a phone
        chromium.get(base + "/status/lin")
        screenshot("status-phone")
        width = chromium.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing sticks out sideways
    finally:
        target.stop()
