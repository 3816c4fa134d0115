"""The dashboard's pages at 10,000 monitors: p50 and p95 per page, under load.

    python -m bench.pages [--monitors 10000] [--seconds 10] [--concurrency 1,8] [--reuse]

Fills the bench database with one user's 10,000 monitors, 30 days of hourly and daily
rollups for each, a day of raw results for the monitor whose page is measured, and a
status page of 50 monitors; serves production.ini (16 threads, the scheduler off)
pinned to one CPU, signs in, and loads each page with concurrent clients for a fixed
time: /monitors (the first page of 50; then those with a tag, and those whose name, address or
tag holds a word, each tag read from the JSON list of every one of the 10,000), /monitors/{id}
(its 24 h chart, then its last hour), /incidents (the newest 50 of 20,000) and /status/{slug},
which is served from a 30 s cache, and once more by a server that renders it from the database
every time.  Goal: p95 under 150 ms for each.
"""

import argparse
import asyncio
import datetime
import random
import statistics
import time

import aiohttp
import sqlalchemy
from sqlalchemy import insert

from myapp.models import CheckResult, DailyRollup, HourlyRollup, Incident, Monitor
from myapp.models.meta import utcnow
from myapp.models.monitor import BUCKET_COLUMNS
from myapp.status_pages.tables import StatusPage, StatusPageMonitor

from .common import BENCH_DB, ROOT, free_port, mysql, production_app, script, server

PASSWORD = "bench password 0123456789"
SERVER_CPU = 1
GOAL_MS = 150


def fill(count):
    """The bench user's monitors, rollups, results and status page; returns (a monitor id, the status slug)."""
    engine = sqlalchemy.create_engine(f"mysql+pymysql://root@127.0.0.1:3306/{BENCH_DB}")
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    states = ["UP"] * 90 + ["DOWN"] * 4 + ["DEGRADED"] * 3 + ["PAUSED"] * 3
    rng = random.Random(7)
    started = time.monotonic()
    with engine.begin() as conn:
        user = conn.execute(sqlalchemy.text("SELECT id FROM users WHERE email = 'bench@example.com'")).scalar()
        monitors = []
        for n in range(count):
            latency = rng.randint(20, 400)
            recent = ",".join(
                ("!" if rng.random() < 0.03 else "") + str(latency + rng.randint(-15, 15)) for _ in range(30)
            )
            monitors.append(
                {
                    "user_id": user,
                    "name": f"service {n:05d}",
                    "url": f"https://s{n}.example.com/health",
                    "method": "GET",
                    "headers": None,
                    "body": None,
                    "interval": 60,
                    "timeout": 10,
                    "expect_status": "200-399",
                    "tls_days": 14,
                    "failures_to_down": 2,
                    "successes_to_up": 1,
                    "paused": False,
                    "tags": [f"team-{n % 10}", "prod" if n % 3 else "staging"],
                    "state": rng.choice(states),
                    "state_since": now,
                    "fail_streak": 0,
                    "pass_streak": 1,
                    "last_check_at": now,
                    "last_ok": True,
                    "last_status_code": 200,
                    "last_latency_ms": latency,
                    "recent": recent,
                    "version": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        conn.execute(insert(Monitor.__table__), monitors)
        ids = list(conn.execute(sqlalchemy.text("SELECT id FROM monitors ORDER BY id")).scalars())

        def rollup(monitor_id, period, checks):
            passes = checks - (rng.random() < 0.05) * rng.randint(1, 3)
            row = {
                "monitor_id": monitor_id,
                "period": period,
                "checks": checks,
                "passes": passes,
                "slow": 0,
                "latency_sum": checks * 120,
                **dict.fromkeys(BUCKET_COLUMNS, 0),
            }
            row["b3"] = checks
            return row

        for start in range(0, len(ids), 500):  # 30 days of hourly rows, in chunks
            part = ids[start : start + 500]
            conn.execute(
                insert(HourlyRollup.__table__),
                [rollup(m, hour - datetime.timedelta(hours=h), 60) for m in part for h in range(30 * 24)],
            )
            conn.execute(
                insert(DailyRollup.__table__),
                [rollup(m, day - datetime.timedelta(days=d), 1440) for m in part for d in range(30)],
            )
        watched = ids[0]
        conn.execute(
            insert(CheckResult.__table__),
            [
                {
                    "monitor_id": watched,
                    "at": now - datetime.timedelta(minutes=m),
                    "ok": m % 97 != 0,
                    "slow": False,
                    "status_code": 200,
                    "latency_ms": 100 + rng.randint(0, 80),
                    "error": None,
                }
                for m in range(1440)
            ],
        )
        conn.execute(  # 20,000 past incidents, spread over the month and the monitors
            insert(Incident.__table__),
            [
                {
                    "monitor_id": rng.choice(ids),
                    "started_at": now - datetime.timedelta(minutes=2 * n + 10),
                    "ended_at": now - datetime.timedelta(minutes=2 * n + 5),
                    "cause": "expected status 200-399, got 503",
                }
                for n in range(20000)
            ],
        )
        conn.execute(
            insert(StatusPage.__table__),
            [
                {
                    "user_id": user,
                    "title": "Bench",
                    "slug": "bench",
                    "show_urls": False,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        page = conn.execute(sqlalchemy.text("SELECT id FROM status_pages")).scalar()
        conn.execute(
            insert(StatusPageMonitor.__table__),
            [{"status_page_id": page, "monitor_id": m, "position": n} for n, m in enumerate(ids[:50])],
        )
    print(
        f"filled {count} monitors, {count * 30 * 24:,} hourly and {count * 30:,} daily rollups "
        f"in {time.monotonic() - started:.0f} s"
    )
    return watched, "bench"


def already_filled(count):
    """(the watched monitor, the status slug) when the bench database holds ``count`` monitors already."""
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = 'status_pages'",
            (BENCH_DB,),
        )
        if not cur.fetchone()[0]:
            return None
        cur.execute(f"SELECT COUNT(*), MIN(id) FROM {BENCH_DB}.monitors")
        found, watched = cur.fetchone()
        cur.execute(f"SELECT COUNT(*) FROM {BENCH_DB}.status_pages WHERE slug = 'bench'")
        return (watched, "bench") if found == count and cur.fetchone()[0] else None


async def sign_in(base):
    """The session cookie of the bench user, signed in through the form like a browser."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(base + "/login") as res:
            html = await res.text()
        token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with session.post(
            base + "/login",
            data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        ) as res:
            assert res.status == 302, res.status
        return "; ".join(f"{c.key}={c.value}" for c in jar)


async def load(url, cookie, concurrency, seconds):
    """Latencies (ms) of GETs of ``url`` by ``concurrency`` clients for ``seconds``; fails on a non-200."""
    latencies = []
    end = time.monotonic() + seconds
    headers = {"Cookie": cookie} if cookie else {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def client():
            while time.monotonic() < end:
                started = time.perf_counter()
                async with session.get(url, headers=headers) as res:
                    await res.read()
                    if res.status != 200:
                        raise RuntimeError(f"{url}: {res.status}")
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies


def measure(pages, concurrencies, seconds):
    """(page, clients, req/s, p50, p95) of each page at each concurrency."""
    rows = []
    for concurrency in concurrencies:
        for name, url, cookie in pages:
            asyncio.run(load(url, cookie, concurrency, 2))  # warm up
            latencies = sorted(asyncio.run(load(url, cookie, concurrency, seconds)))
            p95 = latencies[int(0.95 * (len(latencies) - 1))]
            rows.append((name, concurrency, len(latencies) / seconds, statistics.median(latencies), p95))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monitors", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data of an earlier run with the same --monitors (filling 10,000 takes minutes)",
    )
    args = parser.parse_args(argv)
    filled = args.reuse and already_filled(args.monitors)
    if not filled:
        with mysql() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    settings = {"monitors.scheduler": "false", "monitors.max_per_user": "0", "session.secure": "false"}
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # plain HTTP here: a Secure cookie would never come back
    with production_app(port, **settings) as (ini, env):
        if filled:
            watched, slug = filled
        else:
            script(
                ROOT,
                env,
                "create_admin",
                ini,
                "--email",
                "bench@example.com",
                "--password-stdin",
                stdin=PASSWORD + "\n",
            )
            watched, slug = fill(args.monitors)
        with server(["pserve", ini], base + "/api/health", env=env, cpu=SERVER_CPU):
            cookie = asyncio.run(sign_in(base))
            rows = measure(
                [
                    ("/monitors", base + "/monitors", cookie),
                    ("/monitors?tag=team-3", base + "/monitors?tag=team-3", cookie),
                    ("/monitors?q=team-3", base + "/monitors?q=team-3", cookie),
                    ("/monitors/{id}", f"{base}/monitors/{watched}", cookie),
                    ("/monitors/{id}?range=1h", f"{base}/monitors/{watched}?range=1h", cookie),
                    ("/incidents", base + "/incidents", cookie),
                    ("/status/{slug} (50)", f"{base}/status/{slug}", None),
                ],
                concurrencies,
                args.seconds,
            )
    # the public page as its first visitor in 30 s sees it: rendered from the database every time
    with production_app(port, **settings, **{"status_pages.cache_seconds": "0"}) as (ini, env):
        with server(["pserve", ini], base + "/api/health", env=env, cpu=SERVER_CPU):
            rows += measure([("  not cached", f"{base}/status/{slug}", None)], concurrencies, args.seconds)
    print(f"{'page':22} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}  goal: p95 < {GOAL_MS} ms")
    for name, concurrency, rps, p50, p95 in rows:
        print(f"{name:22} {concurrency:7d} {rps:8.1f} {p50:8.1f} {p95:8.1f}  {'held' if p95 < GOAL_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
