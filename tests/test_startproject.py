"""myapp_startproject: the cookiecutter template makes projects that install, pass their tests and run.

Each generated project is installed into a fresh virtual environment (pip reuses its wheel
cache), runs its own test suite, and is started with pserve as its README says.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from myapp.startproject import TEMPLATE

from .helpers import free_port, wait_for_http
from .test_test_database import fresh_database


def startproject(tmp_path, *answers):
    return subprocess.run(
        ["myapp_startproject", "--no-input", "--output-dir", str(tmp_path), *answers], capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "answer, says",
    [
        ("package_name=os", "standard library module"),
        ("package_name=2shop", "not a valid package name"),
        ("package_name=shop-floor", "not a valid package name"),
        ("package_name=class", "not a valid package name"),
        ("package_name=pyramid", "a package the project depends on"),
        ("project_name=Asyncio", "standard library module"),  # the derived name is checked too
    ],
)
def test_bad_answers_are_refused_and_nothing_is_made(tmp_path, answer, says):
    out = startproject(tmp_path, answer)
    assert out.returncode != 0 and says in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and os.listdir(tmp_path) == []


def test_answers_must_be_key_value(tmp_path):
    out = startproject(tmp_path, "Shop Floor")
    assert out.returncode == 2 and "key=value" in out.stderr


def get(url, data=None):
    request = urllib.request.Request(
        url, data=json.dumps(data).encode() if data is not None else None, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as res:
        return res.status, res.read().decode()


@pytest.fixture
def databases(mysql_url):
    """mysql:// URLs for the generated project's tests and its development server (named from the suite's own
    database), dropped afterwards."""
    with fresh_database("startproject") as test, fresh_database("startproject_dev") as dev:
        yield tuple(url.replace("mysql+aiomysql://", "mysql://") for url in (test, dev))


@pytest.mark.parametrize("database, task", [("sqlalchemy", "no"), ("aiomysql", "yes")])
def test_a_generated_project_installs_passes_its_tests_and_runs(tmp_path, databases, database, task):
    test_url, dev_url = databases
    made = startproject(tmp_path, "project_name=Shop Floor", f"database={database}", f"background_task={task}")
    assert made.returncode == 0, made.stderr
    project = tmp_path / "shop-floor"
    files = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert {
        "setup.py",
        "development.ini",
        "production.ini",
        "testing.ini",
        "MANIFEST.in",
        "README.md",
        "shop_floor/__init__.py",
        "shop_floor/routes.py",
        "shop_floor/views/api.py",
        "shop_floor/aio/runtime.py",
        "tests/test_views.py",
    } <= files
    assert ("shop_floor/models.py" in files) == (database == "sqlalchemy") != ("shop_floor/db.py" in files)
    assert ("shop_floor/tasks.py" in files) == (task == "yes")
    # the adapter is myapp.aio, renamed; nothing else of myapp comes along
    with open(os.path.join(os.path.dirname(TEMPLATE), "..", "aio", "runtime.py")) as f:
        assert (project / "shop_floor/aio/runtime.py").read_text() == f.read().replace("myapp.aio", "shop_floor.aio")
    code = "".join(
        (project / name).read_text()
        for name in files
        if name.endswith((".py", ".ini", ".md")) and not name.startswith("shop_floor/aio/")
    )
    assert not re.search(r"\bmyapp\b(?![._]aio|_startproject)|monitor|accounts", code)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[testing]"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "SHOP_FLOOR_TEST_MYSQL_URL": test_url,
        "SHOP_FLOOR_DATABASE_URL": dev_url,
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
    }
    env.pop("SHOP_FLOOR_DATABASE_URL") if database == "sqlalchemy" else None
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0 and "skipped" not in tests.stdout, tests.stdout[-2000:]
    assert re.search(r"\b(8|4) passed", tests.stdout), tests.stdout[-500:]  # both databases, or MySQL alone

    # the README's command, on a free port
    ini = project / "development.ini"
    port = free_port()
    ini.write_text(ini.read_text().replace("localhost:6543", f"127.0.0.1:{port}"))
    if database == "sqlalchemy":
        subprocess.run(
            ["alembic", "-c", "development.ini", "upgrade", "head"],
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
        )
    server = subprocess.Popen(
        ["pserve", "development.ini"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/", 30)
        status, body = get(base + "/api/notes", {"text": "made by the test"})
        assert status == 201 and json.loads(body)["text"] == "made by the test"
        assert "made by the test" in get(base + "/api/notes")[1] and "made by the test" in get(base + "/")[1]
        assert "body {" in get(base + "/static/site.css")[1]
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[1]
    assert "Traceback" not in log, log[-2000:]
    if task == "yes":
        assert re.search(r"shop_floor\.tasks.*\d+ notes", log), log[-2000:]


def test_the_cookiecutter_command_on_the_template_path_works_too(tmp_path):
    out = subprocess.run(
        ["cookiecutter", "--no-input", TEMPLATE, "-o", str(tmp_path), "project_name=Direct Use"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    package = tmp_path / "direct-use" / "direct_use"
    assert (package / "aio" / "deriver.py").exists() and "direct_use.aio" in (
        package / "aio" / "__init__.py"
    ).read_text()
