"""myapp's adapter under waitress: async views through a raw driver pool, or through SQLAlchemy async.

    python -m bench.myapp_app PORT [raw|sa] [aiomysql|asyncmy] [uvloop|asyncio]

``raw``: the driver's own pool, one per loop (aiomysql, the default, or asyncmy, its Cython
twin); ``sa``: SQLAlchemy async Core through myapp.models, on the loop's read engine (the one
``request.dbsession`` uses for a GET: autocommit, no COMMIT or ROLLBACK).  One process per
variant, so each holds at most threads x 5 connections, and the raw numbers carry none of
the data layer's cost.
"""

import asyncio
import importlib
import sys

import waitress
from pyramid.config import Configurator
from sqlalchemy import text

from .queries import DB, FANOUT, FANOUT_SQL, PK_SQL, THREADS, row, sa_url


def driver_pool(driver):
    module = importlib.import_module(driver)
    options = dict(DB)
    if driver == "asyncmy":
        options["database"] = options.pop("db")

    async def pool(state):
        state.pool = await module.create_pool(**options, minsize=1, maxsize=FANOUT, autocommit=True)
        yield
        state.pool.close()
        await state.pool.wait_closed()

    return pool


async def query(pool, sql, args=None):
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute(sql, args)
            return await cur.fetchall()


async def raw_pk(request):
    rows = await query(request.loop_state.pool, PK_SQL, (int(request.matchdict["id"]),))
    return row(rows[0])


async def raw_fanout(request):
    pool = request.loop_state.pool
    results = await asyncio.gather(*(query(pool, FANOUT_SQL) for _ in range(FANOUT)))
    return {"queries": len(results)}


SA_PK = text(PK_SQL.replace("%s", ":id"))
SA_FANOUT = text(FANOUT_SQL)


async def sa_pk(request):
    async with request.loop_state.db_read_engine.connect() as conn:
        record = (await conn.execute(SA_PK, {"id": int(request.matchdict["id"])})).one()
    return row(record)


async def sa_query(engine):
    async with engine.connect() as conn:
        return (await conn.execute(SA_FANOUT)).all()


async def sa_fanout(request):
    engine = request.loop_state.db_read_engine
    results = await asyncio.gather(*(sa_query(engine) for _ in range(FANOUT)))
    return {"queries": len(results)}


def make_app(variant="raw", driver="aiomysql", loop="uvloop"):
    # myapp.models refuses a database whose schema is not its own: the bench database gets it at start
    settings = {
        "sqlalchemy.url": sa_url(driver),
        "sqlalchemy.pool_size": str(FANOUT),
        "aio.loop": loop,
        "myapp.create_schema": "true",
    }
    with Configurator(settings=settings) as config:
        config.include("myapp.aio")
        config.add_route("pk", "/pk/{id}")
        config.add_route("fanout", "/fanout")
        if variant == "sa":
            config.include("myapp.models")
            config.add_view(sa_pk, route_name="pk", renderer="json")
            config.add_view(sa_fanout, route_name="fanout", renderer="json")
        else:
            config.add_cleanup_ctx(driver_pool(driver))
            config.add_view(raw_pk, route_name="pk", renderer="json")
            config.add_view(raw_fanout, route_name="fanout", renderer="json")
    return config.make_wsgi_app()


if __name__ == "__main__":
    app = make_app(*sys.argv[2:])
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=THREADS, _quiet=True)
