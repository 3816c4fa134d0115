"""The API explorer at /api/docs in Chromium: it loads from this server alone, lists every operation of
the document, and runs a request with an API key."""

import json
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.one_backend  # a page in a browser; the backends' own tests are elsewhere


def test_the_explorer_works_offline_and_tries_a_request(chromium, live_url, make_user, make_key):
    token = make_key(make_user("ada@example.com"), "read")[1]
    with urllib.request.urlopen(live_url + "/api/openapi.json", timeout=10) as res:
        document = json.load(res)
    operations = sum(1 for item in document["paths"].values() for method in item if method != "parameters")
    wait = WebDriverWait(chromium, 20)

    chromium.get(live_url + "/api/docs")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) == operations)
    origins = chromium.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)"
    )
    assert set(origins) == {live_url}, "every file comes from this server"
    problems = [entry["message"] for entry in chromium.get_log("browser") if entry["level"] == "SEVERE"]
    assert problems == [], problems  # no file missing, nothing refused by the Content-Security-Policy

    chromium.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".modal-ux input"))[0].send_keys(token)
    chromium.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
    chromium.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()

    operation = chromium.find_element(By.ID, "operations-users-me")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait.until(lambda d: operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"))[0].click()
    wait.until(lambda d: operation.find_elements(By.CSS_SELECTOR, ".execute"))[0].click()
    status = wait.until(
        lambda d: operation.find_elements(By.CSS_SELECTOR, ".live-responses-table .response .response-col_status")
    )
    assert status[0].text.strip() == "200"
    body = operation.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text
    assert json.loads(body)["email"] == "ada@example.com"
