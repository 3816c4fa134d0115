"""A real Chromium (Debian's chromium + chromedriver) driving the app on a real waitress server.

Missing Chromium skips these tests on a workstation and fails them under CI=true;
.ci/run installs it.
"""

import os
import shutil

import pytest

from ..conftest import ON_CI

CHROMIUM = os.environ.get("MYAPP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MYAPP_TEST_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")


SCREENSHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "screenshots")


@pytest.fixture
def live_url(app, testapp, serve):
    return serve(app)


@pytest.fixture
def scheduled_url(make_myapp, serve):
    """The app with its scheduler running (testing.ini turns it off), on a real server; the dashboard
    refreshes its rows every second rather than every 15."""
    return serve(make_myapp(**{"monitors.scheduler": "true", "monitors.refresh_seconds": "1"}).app)


@pytest.fixture
def screenshot(chromium, backend):
    """screenshot(name): save what Chromium shows into tests/browser/screenshots/ (kept by CI, ignored by git)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)

    def save(name):
        chromium.save_screenshot(os.path.join(SCREENSHOTS, f"{name}-{backend}.png"))

    return save


@pytest.fixture
def chromium(tmp_path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        message = f"Chromium is not installed ({', '.join(missing)}); apt-get install chromium chromium-driver"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, CSP reports included
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
