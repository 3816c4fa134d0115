"""The HTTP target of the scheduler benchmark, and the bare client that measures its ceiling.

python -m bench.target serve PORT          # answers every GET and POST with 200 "ok"; /hang answers never;
                                            # /trickle answers a byte every 2 s (each read within its timeout)
python -m bench.target client URL SECONDS CONCURRENCY
                                            # a bare aiohttp loop: requests/s and CPU/request (JSON)
"""

import asyncio
import json
import sys
import time

import aiohttp
from aiohttp import web


def serve(port):
    async def ok(request):
        return web.Response(text="ok")

    async def hang(request):  # a server that never answers in time: a monitor's or a webhook's
        await asyncio.sleep(3600)
        return web.Response(text="late")

    async def trickle(request):  # a receiver that keeps a blocking sender's thread: a byte at a time
        response = web.StreamResponse(headers={"Content-Length": "100000"})
        await response.prepare(request)
        for _ in range(100000):
            await response.write(b"x")
            await asyncio.sleep(2)
        return response

    app = web.Application()
    app.router.add_route("*", "/hang", hang)
    app.router.add_route("*", "/trickle", trickle)
    app.router.add_get("/{tail:.*}", ok)
    app.router.add_post("/{tail:.*}", ok)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def client(url, seconds, concurrency):
    done = 0
    end = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            nonlocal done
            while time.monotonic() < end:
                async with session.get(url) as res:
                    await res.read()
                done += 1

        cpu, started = time.process_time(), time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.monotonic() - started
    return {"requests": done, "rps": done / wall, "cpu_us_per_request": cpu / done * 1e6}


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        print(json.dumps(asyncio.run(client(sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))))
