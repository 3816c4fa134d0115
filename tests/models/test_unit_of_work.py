"""request.dbsession: one unit of work per request, on SQLite and MariaDB; a safe request (GET) only reads."""

import asyncio
import time

import pytest
from pyramid.config import Configurator
from sqlalchemy import Column, Integer, MetaData, String, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase
from webtest import TestApp

from myapp.models.engine import create_engine, engines

from ..conftest import run


class ProbeBase(DeclarativeBase):
    metadata = MetaData()


class Probe(ProbeBase):
    __tablename__ = "uow_probe"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), unique=True)


metadata = ProbeBase.metadata
probe = Probe.__table__


async def _with_engine(url, fn):
    engine = create_engine(url, {})
    try:
        async with engine.begin() as conn:
            return await fn(conn)
    finally:
        await engine.dispose()


def rows(url):
    async def read(conn):
        return sorted((await conn.execute(select(probe.c.name))).scalars())

    return run(_with_engine(url, read))


async def insert(request, *names):
    for name in names:
        await request.dbsession.execute(probe.insert().values(name=name))


async def add_ok(request):
    await insert(request, request.matchdict["name"])
    return {"added": request.matchdict["name"]}


async def add_then_fail(request):
    await insert(request, "first-of-two")
    raise ValueError("the second step failed")


async def add_pair_flushed_at_commit(request):
    # ORM objects are only flushed when the unit of work commits, after the view returned
    request.dbsession.add_all([Probe(name="pair-a"), Probe(name=request.matchdict["dupe"])])
    return {"added": "pair"}


async def sleepy_query(request):
    await request.dbsession.execute(
        text("SELECT SLEEP(5)") if request.dbsession.bind.dialect.name == "mysql" else text("SELECT 1")
    )
    return {}


async def stubborn(request):
    await insert(request, "never-committed")
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        await asyncio.sleep(0.3)  # its cleanup outlasts aio.cancel_grace: the request gives up on it
        raise


def tick(request):
    request.run_async(asyncio.sleep(0.02))  # the thread's loop runs only while a request runs on it
    return {}


def sync_add(request):
    request.run_async(insert(request, "from-sync-view"))
    return {"added": "from-sync-view"}


def conflict_view(exc, request):
    request.response.status = 409
    return {"error": "conflict"}


def value_error_view(exc, request):
    request.response.status = 400
    return {"error": str(exc)}


@pytest.fixture
def uow_app(app, app_settings, db_url):  # app: the schema is migrated (this app does not migrate it)
    run(_with_engine(db_url, lambda conn: conn.run_sync(metadata.create_all)))
    settings = {**app_settings, "myapp.create_schema": "false", "aio.cancel_grace": "0.05"}
    with Configurator(settings=settings) as config:
        config.include("myapp.aio")
        config.include("myapp.models")
        for name, view, kw in [
            ("add", add_ok, {}),
            ("fail", add_then_fail, {}),
            ("late", add_pair_flushed_at_commit, {}),
            ("sleepy", sleepy_query, {"async_timeout": 0.3}),
            ("sync", sync_add, {}),
            ("stubborn", stubborn, {"async_timeout": 1.0}),  # time to reach its insert on a busy machine
            ("tick", tick, {}),
        ]:
            config.add_route(name, f"/{name}" + ("/{name}" if name == "add" else "/{dupe}" if name == "late" else ""))
            config.add_view(view, route_name=name, renderer="json", **kw)
        config.add_exception_view(conflict_view, IntegrityError, renderer="json")
        config.add_exception_view(value_error_view, ValueError, renderer="json")
    app = config.make_wsgi_app()
    yield TestApp(app)
    app.registry.aio_runtime.shutdown()
    run(_with_engine(db_url, lambda conn: conn.run_sync(metadata.drop_all)))


def checked_out(app):
    return sum(
        engine.pool.checkedout()
        for _, _, state in app.app.registry.aio_runtime.loop_states()
        for _, engine in engines(state)
    )


def test_commit_on_normal_return(uow_app, db_url):
    uow_app.post("/add/alpha")
    uow_app.post("/add/beta")
    assert rows(db_url) == ["alpha", "beta"]
    assert checked_out(uow_app) == 0


def test_rollback_when_the_view_raises(uow_app, db_url):
    assert uow_app.post("/fail", status=400).json == {"error": "the second step failed"}
    assert rows(db_url) == []
    assert checked_out(uow_app) == 0


def test_a_failed_commit_is_rendered_and_leaves_nothing_half_written(uow_app, db_url):
    uow_app.post("/add/taken")
    # the conflict surfaces in the tween's commit, and the exception view still renders it
    assert uow_app.post("/late/taken", status=409).json == {"error": "conflict"}
    assert rows(db_url) == ["taken"]  # "pair-a" was rolled back with the failed insert
    assert checked_out(uow_app) == 0


def test_an_abandoned_view_is_rolled_back_once_it_ends(uow_app, db_url):
    uow_app.post("/stubborn", status=504)  # answered at the deadline, while the view still holds its session
    assert checked_out(uow_app) == 1
    deadline = time.monotonic() + 5
    while checked_out(uow_app):
        assert time.monotonic() < deadline, "the abandoned view's session was never closed"
        uow_app.post("/tick")
    assert rows(db_url) == []
    uow_app.post("/add/after")
    assert rows(db_url) == ["after"]


def test_sync_view_uses_the_session_through_run_async(uow_app, db_url):
    uow_app.post("/sync")
    assert rows(db_url) == ["from-sync-view"]


def test_timeout_mid_query_returns_the_connection(uow_app, db_url, backend):
    if backend != "mysql":
        pytest.skip("SQLite has no server-side sleep to interrupt")
    uow_app.post("/sleepy", status=504)
    assert checked_out(uow_app) == 0
    uow_app.post("/add/after-timeout")  # the pool still serves
    assert rows(db_url) == ["after-timeout"]


def test_a_get_reads_and_cannot_write(uow_app, db_url):
    uow_app.post("/add/written")
    # the same views through GET: the server refuses the write, nothing is kept, the connection goes back
    for path in ("/add/not-written", "/sync"):
        with pytest.raises(DBAPIError, match="(?i)read.?only"):
            uow_app.get(path)
    assert rows(db_url) == ["written"]
    assert checked_out(uow_app) == 0
    uow_app.post("/add/still-served")
    assert rows(db_url) == ["still-served", "written"]
