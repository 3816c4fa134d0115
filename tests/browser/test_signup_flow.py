"""A new user signs up in Chromium, creates an API key on the account page and calls the API with it."""

import json
import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as page_shows
from selenium.webdriver.support.ui import Select, WebDriverWait

pytestmark = pytest.mark.one_backend  # a page in a browser; the backends' own tests are elsewhere


def api(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def fill(driver, **fields):
    for name, value in fields.items():
        box = driver.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)


def test_sign_up_create_a_key_and_use_it(chromium, live_url, tmp_path):
    wait = WebDriverWait(chromium, 10)
    chromium.get(live_url + "/")
    chromium.find_element(By.LINK_TEXT, "Sign up").click()
    wait.until(page_shows.url_contains("/signup"))

    fill(chromium, email="grace@example.com", display_name="Grace", password="short")
    chromium.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    error = wait.until(page_shows.visibility_of_element_located((By.ID, "password-error")))
    assert "at least 10 characters" in error.text

    fill(chromium, password="a long enough password")
    chromium.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    wait.until(page_shows.url_contains("/monitors"))  # the first-run page
    assert "No monitors yet" in chromium.page_source
    assert chromium.find_element(By.CSS_SELECTOR, "nav").text.count("Grace") == 1
    chromium.find_element(By.LINK_TEXT, "Grace").click()
    wait.until(page_shows.url_contains("/account"))
    assert "grace@example.com" in chromium.page_source

    key_form = chromium.find_element(By.CSS_SELECTOR, "form[action$='/account/keys']")
    key_form.find_element(By.NAME, "name").send_keys("laptop")
    Select(key_form.find_element(By.NAME, "scope")).select_by_value("write")
    key_form.find_element(By.CSS_SELECTOR, "button").click()
    token = wait.until(page_shows.visibility_of_element_located((By.ID, "new-token"))).text
    chromium.save_screenshot(str(tmp_path / "new-key.png"))

    status, me = api(live_url + "/api/users/me", token)
    assert status == 200 and me["email"] == "grace@example.com" and me["display_name"] == "Grace"

    chromium.get(live_url + "/account")
    assert token not in chromium.page_source  # shown once only
    revoke = chromium.find_element(By.CSS_SELECTOR, "form[action*='/revoke'] button")
    revoke.click()
    # the page is replaced by the answer to the POST (waiting on the old element's staleness races
    # with Chromium detaching it)
    wait.until(lambda driver: "No API keys yet." in driver.page_source)
    assert api(live_url + "/api/users/me", token)[0] == 401

    chromium.find_element(By.CSS_SELECTOR, "form[action$='/logout'] button").click()
    wait.until(page_shows.presence_of_element_located((By.LINK_TEXT, "Sign in")))
    chromium.get(live_url + "/account")
    wait.until(page_shows.url_contains("/login?next="))
