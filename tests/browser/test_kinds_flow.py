"""Monitors of other kinds in Chromium: the form shows the fields of the kind chosen; a heartbeat shows its ping
URL, goes DOWN when no ping comes in time, and lists the pings it got; a TCP monitor is checked."""

import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as page_shows
from selenium.webdriver.support.ui import Select, WebDriverWait

from ..monitors.conftest import TargetServer
from .test_dashboard_flow import fill, rows_text

pytestmark = pytest.mark.one_backend  # a page in a browser; the backends' own tests are elsewhere


def test_a_heartbeat_and_a_tcp_monitor_from_the_form(chromium, scheduled_url, screenshot):
    target = TargetServer().start()
    try:
        wait = WebDriverWait(chromium, 40)
        chromium.get(scheduled_url + "/signup")
        fill(chromium, email="kim@example.com", display_name="Kim", password="a long enough password")
        chromium.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
        wait.until(page_shows.url_contains("/monitors"))

        chromium.get(scheduled_url + "/monitors/new")
        assert chromium.find_element(By.NAME, "url").is_displayed()
        assert not chromium.find_element(By.NAME, "grace").is_displayed()  # another kind's field is hidden
        Select(chromium.find_element(By.NAME, "kind")).select_by_value("heartbeat")
        assert chromium.find_element(By.NAME, "grace").is_displayed()
        assert not chromium.find_element(By.NAME, "url").is_displayed()
        assert not chromium.find_element(By.CSS_SELECTOR, "button[value=test]").is_displayed()
        fill(chromium, name="Nightly backup", interval="2", grace="1")
        screenshot("heartbeat-form")
        chromium.find_element(By.CSS_SELECTOR, "button[value=save]").click()
        wait.until(page_shows.url_matches(r"/monitors/\d+$"))
        ping_url = chromium.find_element(By.ID, "ping-url").text
        assert ping_url.startswith(scheduled_url + "/ping/")
        assert not chromium.find_elements(By.XPATH, "//button[text()='Check now']")  # nothing to check

        with urllib.request.urlopen(urllib.request.Request(ping_url, data=b"42 files"), timeout=10) as res:
            assert res.read() == b"OK\n"
        chromium.refresh()
        pings = wait.until(page_shows.presence_of_element_located((By.ID, "pings"))).text
        assert "success" in pings and "42 files" in pings and "POST" in pings
        # late after that ping (or before it too, on a slow machine): DOWN, with the cause in words
        wait.until(lambda driver: driver.refresh() or "DOWN" in driver.find_element(By.CSS_SELECTOR, ".summary").text)
        assert "no ping since it was expected" in chromium.find_element(By.CSS_SELECTOR, ".summary").text
        screenshot("heartbeat")

        chromium.get(scheduled_url + "/monitors/new")
        Select(chromium.find_element(By.NAME, "kind")).select_by_value("tcp")
        fill(chromium, name="Web port", host="127.0.0.1", port=str(target.port), interval="2", timeout="1")
        chromium.find_element(By.CSS_SELECTOR, "button[value=test]").click()
        result = wait.until(page_shows.visibility_of_element_located((By.CLASS_NAME, "test-result")))
        assert "passed" in result.text
        chromium.find_element(By.CSS_SELECTOR, "button[value=save]").click()
        wait.until(page_shows.url_matches(r"/monitors/\d+$"))
        assert f"tcp://127.0.0.1:{target.port}" in chromium.find_element(By.CSS_SELECTOR, "p.url").text

        chromium.get(scheduled_url + "/monitors")
        wait.until(lambda driver: "UP" in rows_text(driver) and "DOWN" in rows_text(driver))
        rows = rows_text(chromium)
        assert f"tcp://127.0.0.1:{target.port}" in rows and "pinged every 2 s, grace 1 s" in rows
    finally:
        target.stop()
