import asyncio
import collections
import dataclasses
import threading
import time

import aiohttp
import pytest
from pyramid.paster import get_appsettings

from myapp import main
from myapp.accounts import service
from myapp.accounts.passwords import Passwords
from myapp.models import run_in_session
from myapp.services import find

from ..conftest import HERE, PASSWORD
from .mariadb import PrivateMariaDB

TIMEOUT = 2.0  # aio.timeout of the app under test: short, so an outage is over quickly


def pytest_collection_modifyitems(items):
    for item in items:
        if "/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    """A private mariadbd for this module: frozen, killed and restarted by the tests, never the shared one."""
    server = PrivateMariaDB(tmp_path_factory.mktemp("mariadb")).install()
    yield server
    server.stop()


def fault_settings(mariadb, **overrides):
    import os

    settings = get_appsettings(os.path.join(HERE, "testing.ini"))
    return {
        **settings,
        "sqlalchemy.url": mariadb.url,
        "aio.timeout": str(TIMEOUT),
        "aio.debug": "false",
        "sqlalchemy.statement_timeout": str(TIMEOUT),
        "myapp.create_schema": "true",
        **overrides,
    }


@pytest.fixture
def fault_app(mariadb):
    if mariadb.process.poll() is not None or mariadb.frozen:
        mariadb.thaw() if mariadb.frozen else mariadb.start()
    app = main({}, **fault_settings(mariadb))

    async def user_and_key(session):
        user = await session.scalar(service.select(service.User).where(service.User.email == "ada@example.com"))
        if user is None:
            user = await service.create_user(session, find(app.registry, Passwords), "ada@example.com", "Ada", PASSWORD)
        key, token = await service.create_api_key(session, user.id, "read")
        return token

    app.token = run_in_session(app.registry, user_and_key)
    yield app
    app.registry.aio_runtime.shutdown()


@dataclasses.dataclass
class Result:
    path: str
    started: float
    elapsed: float
    status: object  # an HTTP status, or the name of a client-side error


class Load:
    """A bounded client in a thread of its own: ``workers`` requests at a time, round robin over ``paths``,
    each worker waiting ``pause`` seconds after each answer."""

    def __init__(self, url, paths, workers=8, pause=0.0):
        self.url, self.paths, self.workers, self.pause = url, paths, workers, pause
        self.results = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(60)

    async def _run(self):
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as client:
            await asyncio.gather(*(self._worker(client, n) for n in range(self.workers)))

    async def _worker(self, client, n):
        i = n
        while not self._stop.is_set():
            method, path, kw = self.paths[i % len(self.paths)]
            i += 1
            started = time.monotonic()
            try:
                async with client.request(method, self.url + path, **kw) as res:
                    await res.read()
                    status = res.status
            except Exception as exc:
                status = type(exc).__name__
            self.results.append(Result(path, started, time.monotonic() - started, status))
            if self.pause:
                await asyncio.sleep(self.pause)

    def between(self, start, end):
        return [r for r in self.results if start <= r.started and r.started + r.elapsed <= end]

    def statuses(self, results):
        return collections.Counter(r.status for r in results)
