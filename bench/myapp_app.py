"""myapp's adapter under waitress: async views through raw aiomysql, or through SQLAlchemy async.

    python -m bench.myapp_app PORT          # raw aiomysql, a pool per loop
    python -m bench.myapp_app PORT sa       # SQLAlchemy async through myapp.models

Two processes rather than one, so each holds at most threads x 5 connections,
and the raw numbers carry none of the data layer's cost.
"""

import asyncio
import sys

import aiomysql
import waitress
from pyramid.config import Configurator
from sqlalchemy import text

from .queries import DB, FANOUT, FANOUT_SQL, PK_SQL, SA_URL, THREADS, row


async def mysql_pool(state):
    state.mysql = await aiomysql.create_pool(**DB, minsize=1, maxsize=FANOUT, autocommit=True)
    yield
    state.mysql.close()
    await state.mysql.wait_closed()


async def query(pool, sql, args=None):
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(sql, args)
        return await cur.fetchall()


async def raw_pk(request):
    rows = await query(request.loop_state.mysql, PK_SQL, (int(request.matchdict["id"]),))
    return row(rows[0])


async def raw_fanout(request):
    pool = request.loop_state.mysql
    results = await asyncio.gather(*(query(pool, FANOUT_SQL) for _ in range(FANOUT)))
    return {"queries": len(results)}


SA_PK = text(PK_SQL.replace("%s", ":id"))
SA_FANOUT = text(FANOUT_SQL)


async def sa_pk(request):
    async with request.loop_state.db_engine.connect() as conn:
        record = (await conn.execute(SA_PK, {"id": int(request.matchdict["id"])})).one()
    return row(record)


async def sa_query(engine):
    async with engine.connect() as conn:
        return (await conn.execute(SA_FANOUT)).all()


async def sa_fanout(request):
    engine = request.loop_state.db_engine
    results = await asyncio.gather(*(sa_query(engine) for _ in range(FANOUT)))
    return {"queries": len(results)}


def make_app(variant="raw"):
    settings = {"sqlalchemy.url": SA_URL, "sqlalchemy.pool_size": str(FANOUT), "aio.loop": "asyncio"}
    with Configurator(settings=settings) as config:
        config.include("myapp.aio")
        config.add_route("pk", "/pk/{id}")
        config.add_route("fanout", "/fanout")
        if variant == "sa":
            config.include("myapp.models")
            config.add_view(sa_pk, route_name="pk", renderer="json")
            config.add_view(sa_fanout, route_name="fanout", renderer="json")
        else:
            config.add_cleanup_ctx(mysql_pool)
            config.add_view(raw_pk, route_name="pk", renderer="json")
            config.add_view(raw_fanout, route_name="fanout", renderer="json")
    return config.make_wsgi_app()


if __name__ == "__main__":
    app = make_app(sys.argv[2] if len(sys.argv) > 2 else "raw")
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=THREADS, _quiet=True)
