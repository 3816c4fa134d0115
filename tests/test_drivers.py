"""asyncmy, the other MySQL driver myapp supports (mysql+asyncmy://): the tests of what depends on the driver
run again on it, in a pytest of their own, on the same MariaDB in a database of their own (myapp_test_asyncmy).

What depends on the driver: the unit of work and what it says to the server (tests/models), the scheduler's
SKIP LOCKED claims and batched writes, shared by three processes, health, many statements in one
transaction (monitors as code), and a database that freezes, dies and restarts (tests/faults).
"""

import importlib.util
import os
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from .conftest import HERE, MYSQL_URL, ON_CI

ON_ASYNCMY = [
    "tests/models",
    "tests/monitors/test_scheduler.py",
    "tests/monitors/test_processes.py",
    "tests/manifest/test_manifest.py",
    "tests/ops/test_health.py",
    "tests/faults",
]


def test_the_data_layer_holds_on_asyncmy(mysql_url, capsys):
    if importlib.util.find_spec("asyncmy") is None:
        message = "asyncmy is not installed: pip install -e '.[testing]'"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    if make_url(MYSQL_URL).get_driver_name() == "asyncmy":
        pytest.skip("this run is on asyncmy already")
    parts = make_url(mysql_url)
    url = parts.set(drivername="mysql+asyncmy", database=f"{parts.database}_asyncmy").render_as_string(False)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--show-capture=no",
            "-k",
            "mysql or faults",
            *ON_ASYNCMY,
        ],
        cwd=HERE,
        env={**os.environ, "MYAPP_TEST_MYSQL_URL": url},
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, summary  # every test ran, none was skipped
    with capsys.disabled():
        print(f"\nasyncmy: {summary}")
