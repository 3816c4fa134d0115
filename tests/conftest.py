"""The real application, built once per backend through main(): SQLite always, MariaDB/MySQL too.

MYAPP_TEST_MYSQL_URL names the MySQL database (default: root@127.0.0.1:3306/myapp_test,
created when missing).  Every database the suite makes on that server is named from it: under
pytest-xdist each worker has its own, ``<name>_gw0``, ``<name>_gw1`` (MYSQL_URL), and a test that needs
a scratch database names it ``scratch_url("guard")`` -> ``<that>_guard``; two checkouts given two
names never touch each other's.  When it does not answer the MySQL tests are skipped, except
under CI=true, where that is a failure.  The suite empties that database at the start,
and refuses to if it holds a table that neither myapp nor its tests made: a database
somebody keeps data in is never touched.
"""

import asyncio
import collections
import contextlib
import gc
import logging
import os
import re
import threading
import time

import pytest
from alembic.script import ScriptDirectory
from pyramid.paster import get_appsettings
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from webtest import TestApp
from webtest.http import StopableWSGIServer

from myapp import main
from myapp.accounts import service
from myapp.accounts.passwords import Passwords
from myapp.models import Base, run_in_session
from myapp.models.engine import create_engine
from myapp.models.schema import alembic_config
from myapp.services import find

from .helpers import GeneralLog, free_port, wait_for_http

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIVEN_MYSQL_URL = os.environ.get("MYAPP_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/myapp_test")
#: the pytest-xdist worker this process is ("gw0", ...), or "" when the suite runs in one process
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def named_url(url, suffix):
    """``url`` with ``_<suffix>`` appended to its database name (the same URL for an empty suffix)."""
    parts = make_url(url)
    name = f"{parts.database}_{suffix}" if suffix else parts.database
    return parts.set(database=name).render_as_string(hide_password=False)


#: this process's database: the one given, or a worker's own beside it
MYSQL_URL = named_url(GIVEN_MYSQL_URL, WORKER)


def scratch_url(suffix):
    """A database of one test's own on the suite's server, named from this process's (see the docstring)."""
    return named_url(MYSQL_URL, suffix)


#: the table that marks a database as the suite's own: whatever else it holds, the suite made
#: (a newer checkout's run leaves tables this one does not know; they are the tests' all the same)
MARKER = "myapp_test_suite"
#: tables the tests themselves create, besides the application's own
TEST_TABLES = {"alembic_version", "uow_probe", "raw_users", "writes_parent", "writes_probe", MARKER}
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextlib.contextmanager
def pserve(directory, settings, threads=4, extra="", log=None, prefix=()):
    """``pserve`` of an ini written from ``settings`` (and ``extra`` sections), in a process of its own:
    yields (base URL, Popen).  Its log goes to the file ``log`` when given (a pipe, unread, may fill).
    ``prefix``: the command that runs it (``unshare ...``).

    Stopped (SIGTERM, then SIGKILL) on exit, unless the test stopped it already.
    """
    import subprocess

    port = free_port()
    ini = directory / f"app-{port}.ini"
    ini.write_text(
        "[app:main]\nuse = egg:myapp\n"
        + "".join(f"{k} = {v}\n" for k, v in settings.items() if not k.startswith("myapp.ini"))
        + f"\n[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:{port}\nthreads = {threads}\n"
        + extra
    )
    stderr = open(log, "wb") if log else subprocess.PIPE  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen([*prefix, "pserve", str(ini)], stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/api/health", 30)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if log:
            stderr.close()


def run(coro):
    """Run a coroutine for test set-up, on a loop of its own."""
    return asyncio.run(coro)


class ForeignTables(Exception):
    """The test database holds tables that myapp did not make: it is somebody's data."""


async def reset_database(url):
    """Create the database if it is missing, then drop every table myapp or its tests made.

    Raises ForeignTables, dropping nothing, when it holds any other table.
    """
    parts = make_url(url)
    server = create_engine(parts.set(database=""), {})
    try:
        async with server.connect() as conn:
            await conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{parts.database}` CHARACTER SET utf8mb4"))
    finally:
        await server.dispose()
    engine = create_engine(url, {})
    try:
        async with engine.begin() as conn:

            def drop_all(sync_conn):
                meta = MetaData()
                meta.reflect(sync_conn)
                foreign = sorted(set(meta.tables) - set(Base.metadata.tables) - TEST_TABLES)
                if foreign and MARKER not in meta.tables and not made_by_our_migrations(sync_conn, meta):
                    raise ForeignTables(
                        f"refusing to empty the database {parts.database!r}: it holds tables that myapp did not "
                        f"make ({', '.join(foreign)}). Point MYAPP_TEST_MYSQL_URL at a database of the tests' own."
                    )
                meta.drop_all(sync_conn)

            await conn.run_sync(drop_all)
            await conn.execute(text(f"CREATE TABLE {MARKER} (id INT PRIMARY KEY)"))
    finally:
        await engine.dispose()


def made_by_our_migrations(sync_conn, meta):
    """True when the database is at one of myapp's revisions: the tables an older revision made are ours too."""
    if "alembic_version" not in meta.tables:
        return False
    versions = set(sync_conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    ours = {script.revision for script in ScriptDirectory.from_config(alembic_config({})).walk_revisions()}
    return bool(versions) and versions <= ours


@pytest.fixture(scope="session")
def mysql_url():
    """The MySQL test database, emptied once per session."""
    try:
        run(reset_database(MYSQL_URL))
    except ForeignTables as exc:
        pytest.exit(str(exc), returncode=3)
    except Exception as exc:
        message = f"MySQL/MariaDB at {MYSQL_URL} is not usable: {type(exc).__name__}: {exc}"
        if ON_CI:
            pytest.fail(message + " (CI=true: the MySQL run is mandatory)")
        pytest.skip(message)
    return MYSQL_URL


#: modules whose tests take tens of seconds each, and start nothing the others share
FIRST = ("test_drivers.py", "test_startproject.py")


def pytest_collection_modifyitems(config, items):
    """A test marked ``one_backend`` (what it proves does not depend on the database: a page in a browser, a
    header, a log line) runs on SQLite alone, not once per backend.

    Under pytest-xdist (``--dist loadgroup``) the tests of a module that starts a private MariaDB or Galera
    cluster for them (a module-scoped fixture) run in one worker, one after the other.  (The tests that read
    MySQL's general log, a setting of the whole server, take turns through a lock of the server's:
    helpers.GeneralLog.)
    """
    for item in items:
        if "galera" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("galera"))
        elif "faults" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    # the longest tests that need no backend of their own (each a pytest or pip of its own) go first: started
    # last, one of them would be the run's tail, two cores' worth of other tests long done
    first = [item for item in items if item.path.name in FIRST]
    items[:] = first + [item for item in items if item.path.name not in FIRST]
    once = [
        item
        for item in items
        if item.get_closest_marker("one_backend")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("db_url") == "mysql"
    ]
    if once:
        config.hook.pytest_deselected(items=once)
        dropped = set(once)
        items[:] = [item for item in items if item not in dropped]


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
def serve():
    """serve(app, threads=4, **waitress_options) -> base URL of a real waitress server on 127.0.0.1."""
    servers, apps = [], []

    def start(app, threads=4, **options):
        apps.append(app)
        server = StopableWSGIServer.create(app, host="127.0.0.1", threads=threads, **options)
        assert server.wait()
        servers.append(server)
        return server.application_url.rstrip("/")

    yield start
    for server in servers:
        server.shutdown()
    for app in apps:  # their threads are gone: their loops, connections and descriptors go with them
        runtime = getattr(getattr(app, "registry", None), "aio_runtime", None)
        if runtime is not None:
            runtime.close_ended_loops()


@pytest.fixture
def backend(db_url):
    return "sqlite" if db_url.startswith("sqlite") else "mysql"


class GarbageCollections:
    """When the last full collection ended and how long it took: a pause of the whole process, not a
    blocking call in a coroutine.  Late in this suite the heap holds about 600,000 objects and a full
    collection takes up to 0.57 s (measured with gc.callbacks), past the slow-callback threshold."""

    def __init__(self):
        self.started = self.ended = self.took = 0.0
        gc.callbacks.append(self.callback)

    def callback(self, phase, info):
        if info["generation"] != 2:
            return
        if phase == "start":
            self.started = time.monotonic()
        else:
            self.ended, self.took = time.monotonic(), time.monotonic() - self.started

    def explains(self, seconds):
        """Whether a full collection that just ended took most of ``seconds``."""
        return time.monotonic() - self.ended < seconds + 0.1 and self.took > seconds / 2


class ProcessPauses:
    """A thread that ticks every 50 ms: when it too was held up for most of a slow callback, the whole
    process stood still (a collection, the machine itself), not one loop blocked by a coroutine.
    A coroutine that blocks on I/O or sleeps lets this thread tick; so does pure Python, which hands
    the GIL over every few milliseconds; one C call that keeps the GIL throughout (a regular expression
    gone exponential) stops it too, and is excused with the rest.  (Seen in a full run: the loops of four
    threads each "took" 0.9 s at the same moment.)"""

    TICK = 0.05

    def __init__(self):
        self.last_tick = time.monotonic()
        self.pauses = collections.deque(maxlen=100)  # (ended, length) of the ticks that came late
        threading.Thread(target=self.run, name="process-pauses", daemon=True).start()

    def run(self):
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            if now - self.last_tick > 0.2:
                self.pauses.append((now, now - self.last_tick))
            self.last_tick = now

    def explains(self, seconds):
        """Whether this thread stood still for most of the ``seconds`` that just ended."""
        now = time.monotonic()
        if now - self.last_tick > seconds / 2:  # still held up: it has not ticked since the pause began
            return True
        return any(now - ended < seconds + 0.2 and length > seconds / 2 for ended, length in list(self.pauses))


_collections = GarbageCollections()
_pauses = ProcessPauses()
#: asyncio's debug mode: "Executing <Handle ...> took 0.612 seconds"; myapp.aio's watchdog: "Blocked: the
#: worker loop of thread ... has run one callback for 0.612 seconds (...), in: <its stack>"
SLOW = re.compile(r" (?:took|has run one callback for) (\d+\.\d+) seconds")


class SlowCallbacks(logging.Handler):
    """Collects the reports of callbacks that blocked a loop (myapp.aio's watchdog, asyncio's debug mode),
    but those that a full garbage collection or a pause of the whole process made slow."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith(("Executing ", "Blocked: ")):
            took = SLOW.search(message)
            if took and (_collections.explains(float(took.group(1))) or _pauses.explains(float(took.group(1)))):
                return
            self.records.append(record)


_slow = SlowCallbacks()
logging.getLogger("asyncio").addHandler(_slow)
logging.getLogger("myapp.aio.runtime").addHandler(_slow)


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


# -- users, keys and signed-in browsers ------------------------------------------

PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app, testapp):
    """make_user(email, role="user") -> user id, created through the service layer."""

    def make(email, role="user", name=None):
        async def create(session):
            user = await service.create_user(
                session, find(app.registry, Passwords), email, name or email.split("@")[0], PASSWORD, role=role
            )
            return user.id

        return in_app(app, create)

    return make


@pytest.fixture
def make_key(app):
    """make_key(user_id, scope) -> (key id, token)."""

    def make(user_id, scope):
        async def create(session):
            key, token = await service.create_api_key(session, user_id, scope)
            return key.id, token

        return in_app(app, create)

    return make


def acting_as(world, actor, method):
    """(client, headers) of an actor of an authorization matrix: a browser (with the CSRF token an unsafe
    request needs) or an API key, from ``world["browsers"]`` and ``world["keys"]``."""
    if actor in world["browsers"]:
        client = world["browsers"][actor]
        return client, ({} if method == "GET" else {"X-CSRF-Token": csrf_token(client, "/signup")})
    return world["browsers"]["anonymous"], {"Authorization": f"Bearer {world['keys'][actor][1]}"}


def form_with_action(page, ending):
    """The form of a WebTest page whose action ends with ``ending``."""
    return next(f for f in page.forms.values() if f.action.endswith(ending))


def csrf_token(client, path="/login"):
    return client.get(path).html.find("input", {"name": "csrf_token"})["value"]


@pytest.fixture
def browser(app, testapp):
    """browser(email=None) -> a TestApp with its own cookie jar, signed in as ``email`` if given."""

    def make(email=None, password=PASSWORD):
        client = TestApp(app, extra_environ={"HTTP_HOST": "localhost"})
        if email:
            res = client.post("/login", {"email": email, "password": password, "csrf_token": csrf_token(client)})
            assert res.status_int == 302, res.text
        return client

    return make


@pytest.fixture
def commands(backend, db_url):
    """What MySQL received from the connections this test's thread checked out (helpers.GeneralLog)."""
    if backend != "mysql":
        pytest.skip("counts what MySQL receives")
    log = GeneralLog(db_url)
    yield log
    log.close()
