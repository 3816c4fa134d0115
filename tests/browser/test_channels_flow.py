"""Alert channels in Chromium: a chat service's channel added through Apprise, its URL never shown whole, a
test message, the channel changed with its URL kept, and a failed test said as a failure."""

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as page_shows
from selenium.webdriver.support.ui import WebDriverWait

from ..helpers import free_port
from ..monitors.conftest import TargetServer
from .test_dashboard_flow import click_and_load, fill

pytestmark = pytest.mark.one_backend  # a page in a browser; the backends' own tests are elsewhere


def test_a_chat_channel_is_added_tested_and_changed(chromium, live_url, screenshot):
    target = TargetServer().start()
    try:
        wait = WebDriverWait(chromium, 30)
        chromium.get(live_url + "/signup")
        fill(chromium, email="lee@example.com", display_name="Lee", password="a long enough password")
        chromium.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
        wait.until(page_shows.url_contains("/monitors"))

        chromium.get(live_url + "/channels")
        chromium.find_element(By.TAG_NAME, "summary").click()  # the services offered, with an example each
        services = chromium.find_element(By.CSS_SELECTOR, "details.services").text
        assert "Telegram" in services and "tgram://" in services and "ntfy" in services
        secret_url = f"json://lee:s3cret-pass@127.0.0.1:{target.port}/hook"
        fill(chromium, name="Team chat", target=secret_url, remind_minutes="30")
        chromium.find_element(By.CSS_SELECTOR, "input[name=kind][value=apprise]").click()
        chromium.find_element(By.CSS_SELECTOR, "input[name=events][value=degraded]").click()  # not this one
        screenshot("channel-form")
        chromium.find_element(By.XPATH, "//button[text()='Add the channel']").click()
        wait.until(page_shows.url_matches(r"/channels/\d+$"))
        summary = chromium.find_element(By.CSS_SELECTOR, "main p.muted").text
        assert "s3cret-pass" not in chromium.page_source and "json://" in summary
        assert "down, up, certificate" in summary and "every 30 min" in summary

        click_and_load(chromium, chromium.find_element(By.XPATH, "//button[text()='Send a test message']"))
        wait.until(
            page_shows.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice.ok"), "The test message is sent.")
        )
        assert json.loads(target.hits_on("/hook")[-1]["body"])["title"] == "myapp: a test message"

        chromium.find_element(By.LINK_TEXT, "Change").click()
        box = chromium.find_element(By.NAME, "target")
        assert box.get_attribute("value") == "" and "s3cret-pass" not in chromium.page_source
        fill(chromium, name="Team chat, renamed")
        chromium.find_element(By.XPATH, "//button[text()='Save']").click()
        wait.until(page_shows.url_matches(r"/channels/\d+$"))
        assert chromium.find_element(By.TAG_NAME, "h1").text == "Team chat, renamed"
        click_and_load(chromium, chromium.find_element(By.XPATH, "//button[text()='Send a test message']"))
        wait.until(page_shows.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice.ok"), "sent"))
        assert target.hits_on("/hook")[-1]["headers"]["Authorization"].startswith("Basic ")  # its password kept

        chromium.find_element(By.LINK_TEXT, "Change").click()
        fill(chromium, target=f"json://127.0.0.1:{free_port()}/nobody-listens")
        chromium.find_element(By.XPATH, "//button[text()='Save']").click()
        wait.until(page_shows.url_matches(r"/channels/\d+$"))
        click_and_load(chromium, chromium.find_element(By.XPATH, "//button[text()='Send a test message']"))
        failure = wait.until(page_shows.visibility_of_element_located((By.CSS_SELECTOR, ".notice.bad")))
        assert failure.get_attribute("role") == "alert"
        assert "The test message failed" in failure.text and "Connection error" in failure.text
        screenshot("channel-test-failed")
    finally:
        target.stop()
