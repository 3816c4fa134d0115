"""Peer: aiohttp.web with an aiomysql pool, natively async on one event loop.

python -m bench.peers.aiohttp_web PORT
"""

import asyncio
import sys

import aiomysql
from aiohttp import web

from ..queries import DB, FANOUT, FANOUT_SQL, PK_SQL, POOL, row


async def mysql_pool(app):
    app["mysql"] = await aiomysql.create_pool(**DB, minsize=1, maxsize=POOL, autocommit=True)
    yield
    app["mysql"].close()
    await app["mysql"].wait_closed()


async def query(pool, sql, args=None):
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(sql, args)
        return await cur.fetchall()


async def pk(request):
    rows = await query(request.app["mysql"], PK_SQL, (int(request.match_info["id"]),))
    return web.json_response(row(rows[0]))


async def fanout(request):
    pool = request.app["mysql"]
    results = await asyncio.gather(*(query(pool, FANOUT_SQL) for _ in range(FANOUT)))
    return web.json_response({"queries": len(results)})


def make_app():
    app = web.Application()
    app.cleanup_ctx.append(mysql_pool)
    app.router.add_get("/pk/{id}", pk)
    app.router.add_get("/fanout", fanout)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
