"""The real application, built once per backend through main(): SQLite always, MariaDB/MySQL too.

MYAPP_TEST_MYSQL_URL names the MySQL database (default: root@127.0.0.1:3306/test).
When it does not answer the MySQL tests are skipped, except under CI=true, where
that is a failure.
"""

import asyncio
import logging
import os

import pytest
from pyramid.paster import get_appsettings
from sqlalchemy import MetaData
from webtest import TestApp

from myapp import main
from myapp.models import Base, run_in_session
from myapp.models.engine import create_engine

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MYSQL_URL = os.environ.get("MYAPP_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/test")
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def run(coro):
    """Run a coroutine for test set-up, on a loop of its own."""
    return asyncio.run(coro)


async def _reset_database(url):
    """Drop every table, so a MySQL database left by an earlier run starts empty."""
    engine = create_engine(url, {})
    try:
        async with engine.begin() as conn:
            def drop_all(sync_conn):
                meta = MetaData()
                meta.reflect(sync_conn)
                meta.drop_all(sync_conn)

            await conn.run_sync(drop_all)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def mysql_url():
    """The MySQL test database, emptied once per session."""
    try:
        run(_reset_database(MYSQL_URL))
    except Exception as exc:
        message = f"MySQL/MariaDB at {MYSQL_URL} is not usable: {type(exc).__name__}: {exc}"
        if ON_CI:
            pytest.fail(message + " (CI=true: the MySQL run is mandatory)")
        pytest.skip(message)
    return MYSQL_URL


@pytest.fixture(scope="session", params=["sqlite", "mysql"])
def db_url(request, tmp_path_factory):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/test.sqlite"
    return request.getfixturevalue("mysql_url")


@pytest.fixture(scope="session")
def app_settings(db_url):
    settings = get_appsettings(os.path.join(HERE, "testing.ini"))
    return {**settings, "sqlalchemy.url": db_url}


@pytest.fixture(scope="session")
def app(app_settings):
    app = main({}, **app_settings)
    yield app
    app.registry.aio_runtime.shutdown()


def in_app(app, fn):
    """Run ``fn(session)`` on the app's own loop for this thread, and commit."""
    return run_in_session(app.registry, fn)


async def _empty_tables(session):
    for table in reversed(Base.metadata.sorted_tables):
        await session.execute(table.delete())


@pytest.fixture
def testapp(app):
    yield TestApp(app, extra_environ={"HTTP_HOST": "localhost"})
    in_app(app, _empty_tables)  # each test starts from empty tables


@pytest.fixture
def backend(db_url):
    return "sqlite" if db_url.startswith("sqlite") else "mysql"


class SlowCallbacks(logging.Handler):
    """Collects asyncio's debug-mode reports of callbacks that blocked the loop."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        if record.getMessage().startswith("Executing "):
            self.records.append(record)


_slow = SlowCallbacks()
logging.getLogger("asyncio").addHandler(_slow)


@pytest.fixture(autouse=True)
def fail_on_slow_callbacks(request):
    """A blocking call inside a coroutine stalls every request on that loop: fail the test."""
    before = len(_slow.records)
    yield
    new = _slow.records[before:]
    if new and not request.node.get_closest_marker("slow_callbacks_expected"):
        pytest.fail("blocking call inside a coroutine:\n" + "\n".join(r.getMessage() for r in new))


@pytest.fixture
def make_myapp(app_settings):
    """make_myapp(**overrides) -> TestApp of a second real app built through main()."""
    apps = []

    def make(**overrides):
        app = main({}, **{**app_settings, **overrides})
        apps.append(app)
        return TestApp(app)

    yield make
    for app in apps:
        app.registry.aio_runtime.shutdown()
