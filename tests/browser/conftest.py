"""A real Chromium (Debian's chromium + chromedriver) driving the app on a real waitress server.

Missing Chromium skips these tests on a workstation and fails them under CI=true;
.ci/run installs it.
"""

import os
import shutil

import pytest
from webtest.http import StopableWSGIServer

from ..conftest import ON_CI

CHROMIUM = os.environ.get("MYAPP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MYAPP_TEST_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")


@pytest.fixture
def live_url(app, testapp):
    server = StopableWSGIServer.create(app, host="127.0.0.1", threads=4)
    assert server.wait()
    yield server.application_url.rstrip("/")
    server.shutdown()


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
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,900", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
