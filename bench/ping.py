"""What the ping of idle connections costs (sqlalchemy.ping_idle_seconds), against SQLAlchemy's pool_pre_ping.

    python -m bench.ping [--requests 400]

One unit of work per "request" (SELECT of a primary key, commit) on one engine,
as a request makes it.  Back to back, connections are never idle and never pinged;
paced 60 ms apart, every one is idle past the 50 ms default and pinged.  Prints CPU
and wall time per request for each policy.
"""

import argparse
import asyncio
import time

from sqlalchemy import text

from myapp.models.engine import create_engine, engine_options

from .common import BENCH_DB, mysql

URL = f"mysql+aiomysql://root@127.0.0.1:3306/{BENCH_DB}"
POLICIES = {
    "no ping": {"sqlalchemy.ping_idle_seconds": "1e9"},
    "ping after 50 ms idle (default)": {},
    "pool_pre_ping (every checkout)": {"sqlalchemy.ping_idle_seconds": "1e9", "pre_ping": True},
}


async def one_request(engine):
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        await conn.commit()


async def measure(settings, requests, pause):
    options = engine_options(URL, {k: v for k, v in settings.items() if k != "pre_ping"})
    if settings.get("pre_ping"):
        options["pool_pre_ping"] = True
    engine = create_engine(URL, options)
    try:
        for _ in range(20):
            await one_request(engine)
        cpu = wall = 0.0
        for _ in range(requests):
            if pause:
                await asyncio.sleep(pause)  # the pacing of a quiet server, not a wait for a condition
            c0, w0 = time.process_time(), time.perf_counter()
            await one_request(engine)
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
        return cpu / requests * 1e6, wall / requests * 1e6
    finally:
        await engine.dispose()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args(argv)
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {BENCH_DB}")
    print(f"{'policy':34} {'traffic':15} {'CPU us/req':>11} {'wall us/req':>12}")
    for traffic, pause in (("back to back", 0), ("60 ms apart", 0.06)):
        for name, settings in POLICIES.items():
            cpu, wall = asyncio.run(measure(settings, args.requests if not pause else args.requests // 4, pause))
            print(f"{name:34} {traffic:15} {cpu:11.0f} {wall:12.0f}")


if __name__ == "__main__":
    main()
