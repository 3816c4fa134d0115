"""Peer: Flask async views under waitress (asgiref runs each on a new event loop).

No pool can outlive a request's loop, so each request connects with aiomysql.

    python -m bench.peers.flask_async PORT
"""

import asyncio
import sys

import aiomysql
import waitress
from flask import Flask

from ..queries import DB, FANOUT, FANOUT_SQL, PK_SQL, THREADS, row

app = Flask(__name__)


async def query(sql, args=None):
    conn = await aiomysql.connect(**DB, autocommit=True)
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql, args)
            return await cur.fetchall()
    finally:
        conn.close()


@app.get("/pk/<int:item_id>")
async def pk(item_id):
    return row((await query(PK_SQL, (item_id,)))[0])


@app.get("/fanout")
async def fanout():
    results = await asyncio.gather(*(query(FANOUT_SQL) for _ in range(FANOUT)))
    return {"queries": len(results)}


if __name__ == "__main__":
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=THREADS, _quiet=True)
