"""asyncmy, the other MySQL driver myapp supports (mysql+asyncmy://): the tests of what depends on the driver
run again on it, in pytest runs of their own (four parts that the workers share out), on the same MariaDB in
databases of their own named from the suite's (``<name>_asyncmy_<part>``).

What depends on the driver: the unit of work and what it says to the server (tests/models), the scheduler's
SKIP LOCKED claims and batched writes, shared by three processes, health, many statements in one
transaction (monitors as code), and a database that freezes, dies and restarts (tests/faults).  What does
not is not run again: the scheduler's own bookkeeping (owners' shares, bounds, lateness) and a takeover of a
killed process's claims (plain SQL, whichever driver sends it) run once, on the suite's driver.
"""

import importlib.util
import os
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from .conftest import HERE, MYSQL_URL, ON_CI, scratch_url

#: what runs again on asyncmy, in parts that pytest-xdist's workers share out (each in a database of its own):
#: (the tests' paths, which of their tests: pytest's -k)
ON_ASYNCMY = {
    "data": (["tests/models", "tests/ops/test_health.py", "tests/manifest/test_manifest.py"], "mysql"),
    "scheduler": (
        ["tests/checks/test_scheduler.py", "tests/checks/test_processes.py"],
        "mysql and not (starve or bounded or lateness)",
    ),
    "faults": (["tests/faults/test_database_faults.py"], "faults"),
    "outages": (
        ["tests/faults/test_pings.py", "tests/faults/test_takeover.py"],
        "not takeover_checks_each_monitor_once",
    ),
}


@pytest.mark.parametrize("part", ON_ASYNCMY)
def test_the_data_layer_holds_on_asyncmy(mysql_url, capsys, part):
    if importlib.util.find_spec("asyncmy") is None:
        message = "asyncmy is not installed: pip install -e '.[testing]'"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    if make_url(MYSQL_URL).get_driver_name() == "asyncmy":
        pytest.skip("this run is on asyncmy already")
    url = make_url(scratch_url(f"asyncmy_{part}")).set(drivername="mysql+asyncmy").render_as_string(False)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_XDIST")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "--show-capture=no",
            "-k",
            ON_ASYNCMY[part][1],
            *ON_ASYNCMY[part][0],
        ],
        cwd=HERE,
        env={**env, "MYAPP_TEST_MYSQL_URL": url},
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, summary  # every test ran, none was skipped
    with capsys.disabled():
        print(f"\nasyncmy, {part}: {summary}")
