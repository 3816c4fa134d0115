"""Peer: Starlette on uvicorn with an aiomysql pool.

python -m bench.peers.starlette_app PORT
"""

import asyncio
import contextlib
import sys

import aiomysql
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..queries import DB, FANOUT, FANOUT_SQL, PK_SQL, POOL, row


@contextlib.asynccontextmanager
async def lifespan(app):
    app.state.mysql = await aiomysql.create_pool(**DB, minsize=1, maxsize=POOL, autocommit=True)
    yield
    app.state.mysql.close()
    await app.state.mysql.wait_closed()


async def query(pool, sql, args=None):
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(sql, args)
        return await cur.fetchall()


async def pk(request):
    rows = await query(request.app.state.mysql, PK_SQL, (int(request.path_params["id"]),))
    return JSONResponse(row(rows[0]))


async def fanout(request):
    pool = request.app.state.mysql
    results = await asyncio.gather(*(query(pool, FANOUT_SQL) for _ in range(FANOUT)))
    return JSONResponse({"queries": len(results)})


app = Starlette(routes=[Route("/pk/{id}", pk), Route("/fanout", fanout)], lifespan=lifespan)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
