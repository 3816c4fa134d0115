"""A long mixed load on production.ini: no 5xx, memory and connections flat, every connection back at the end.

    python -m bench.soak [--minutes 10] [--connections 64]

Serves production.ini (16 threads, the scheduler on) on MariaDB, pinned to one CPU,
and drives it from this process with ``--connections`` concurrent clients: reads (the
caller, its keys, monitors, their results, health with details), writes (a new API key
then its revocation, a monitor created, changed, checked now and deleted), failed
sign-ins (throttled) and bad requests.  50 monitors against a local target (another
process) are checked by the scheduler all along.  Every minute it prints the requests, the 5xx, the
server's resident memory, MariaDB's connections to the database and the connections
the pools hold checked out; at the end, the same after the load stops.
"""

import argparse
import asyncio
import collections
import json
import random
import time

import aiohttp

from .common import (
    BENCH_DB,
    METRICS_TOKEN,
    ROOT,
    free_port,
    health_details,
    mysql,
    production_app,
    python,
    script,
    server,
)

PASSWORD = "soak password 0123456789"
SERVER_CPU = 1


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def mariadb_connections():
    with mysql() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s", (BENCH_DB,))
        return cur.fetchone()[0]


def checked_out(base):
    loops = health_details(base).get("runtime", {}).get("loops", [])
    return sum(pool.get("checkedout", 0) for loop in loops for pool in loop["pools"].values())


class Client:
    def __init__(self, base, token, target):
        self.base = base
        self.target = target
        self.auth = {"Authorization": f"Bearer {token}"}
        self.counts = collections.Counter()
        self.monitors = []

    async def call(self, session, method, path, **kw):
        try:
            async with session.request(method, self.base + path, **kw) as res:
                body = await res.read()
                self.counts[res.status // 100 * 100] += 1
                if res.status >= 500:
                    self.counts["5xx:" + path.split("?")[0]] += 1
                return res.status, body
        except aiohttp.ClientError as exc:
            self.counts["client error: " + type(exc).__name__] += 1
            return None, b""

    async def create_monitor(self, session, n):
        status, body = await self.call(
            session,
            "POST",
            "/api/monitors",
            headers=self.auth,
            json={"name": f"soak {n}", "url": f"{self.target}/m/{n}", "interval": 30, "timeout": 5},
        )
        return json.loads(body)["id"] if status == 201 else None

    async def monitor_work(self, session):
        roll = random.random()
        monitor = random.choice(self.monitors)
        if roll < 0.4:
            await self.call(session, "GET", "/api/monitors?limit=50", headers=self.auth)
        elif roll < 0.6:
            await self.call(session, "GET", f"/api/monitors/{monitor}", headers=self.auth)
        elif roll < 0.75:
            await self.call(session, "GET", f"/api/monitors/{monitor}/results?limit=20", headers=self.auth)
        elif roll < 0.85:
            await self.call(session, "POST", f"/api/monitors/{monitor}/check", headers=self.auth)
        elif roll < 0.95:
            await self.call(
                session,
                "PATCH",
                f"/api/monitors/{monitor}",
                headers=self.auth,
                json={"name": f"renamed {random.randrange(1000)}"},
            )
        else:  # a monitor made and deleted
            created = await self.create_monitor(session, 1000 + random.randrange(1000))
            if created:
                await self.call(session, "DELETE", f"/api/monitors/{created}", headers=self.auth)

    async def one(self, session):
        roll = random.random()
        if roll < 0.25:
            await self.call(session, "GET", "/api/users/me", headers=self.auth)
        elif roll < 0.35:
            await self.call(session, "GET", "/api/tokens", headers=self.auth)
        elif roll < 0.55:
            await self.monitor_work(session)
        elif roll < 0.65:
            await self.call(session, "GET", "/api/health", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        elif roll < 0.75:  # a write: a new key, then its revocation
            status, body = await self.call(
                session,
                "POST",
                "/api/tokens",
                json={"email": "soak@example.com", "password": PASSWORD, "scope": "read", "name": "soak"},
            )
            if status == 201:
                await self.call(session, "DELETE", f"/api/tokens/{json.loads(body)['id']}", headers=self.auth)
        elif roll < 0.85:  # throttled guesses from one address
            await self.call(
                session,
                "POST",
                "/api/tokens",
                json={
                    "email": f"nobody{random.randrange(100)}@example.com",
                    "password": "wrong guess!",
                    "scope": "read",
                },
            )
        elif roll < 0.95:
            await self.call(session, "GET", "/api/users?limit=5", headers=self.auth)
        else:  # bad input
            await self.call(
                session, "POST", "/api/tokens", data=b"[" * 5000, headers={"Content-Type": "application/json"}
            )

    async def run(self, connections, seconds, report):
        end = time.monotonic() + seconds
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
            self.monitors = [m for m in [await self.create_monitor(session, n) for n in range(50)] if m]

            async def worker():
                while time.monotonic() < end:
                    await self.one(session)

            async def reporter():
                minute = 0
                while time.monotonic() < end:
                    await asyncio.sleep(min(60, max(0, end - time.monotonic())))
                    minute += 1
                    await asyncio.to_thread(report, minute)

            await asyncio.gather(reporter(), *(worker() for _ in range(connections)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # cheaper argon2 than production's, so the sign-ins measure the app rather than the hash
    target_port = free_port()
    target = f"http://127.0.0.1:{target_port}"
    with (
        server(python("-m", "bench.target", "serve", str(target_port)), target + "/", cpu=0),
        production_app(
            port,
            **{
                "auth.argon2_time_cost": "1",
                "auth.argon2_memory_kib": "8192",
                "auth.max_failures_per_address": "1000000",
                "monitors.max_per_user": "0",
                "outbound.private_targets": "allow",
            },
        ) as (ini, env),
    ):
        script(ROOT, env, "create_admin", ini, "--email", "soak@example.com", "--password-stdin", stdin=PASSWORD + "\n")
        with server(["pserve", ini], base + "/api/health", env=env, cpu=SERVER_CPU) as proc:
            token = asyncio.run(_token(base))
            client = Client(base, token, target)
            rows = []

            def report(minute):
                counts = dict(client.counts)
                details = health_details(base)
                row = {
                    "minute": minute,
                    "requests": sum(v for k, v in counts.items() if isinstance(k, int)),
                    "5xx": counts.get(500, 0),
                    "rss_mb": round(rss_mb(proc.pid), 1),
                    "db_connections": mariadb_connections(),
                    "checked_out": checked_out(base),
                    "scheduler_checks": details.get("scheduler", {}).get("checks"),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)

            started = time.monotonic()
            asyncio.run(client.run(args.connections, args.minutes * 60, report))
            elapsed = time.monotonic() - started
            final = {
                "after load": True,
                "rss_mb": round(rss_mb(proc.pid), 1),
                "db_connections": mariadb_connections(),
                "checked_out": checked_out(base),
            }
    total = sum(v for k, v in client.counts.items() if isinstance(k, int))
    print(json.dumps(final))
    print(
        f"{total} requests in {elapsed:.0f} s ({total / elapsed:.0f}/s) at {args.connections} connections; "
        f"by class: {dict(sorted((k, v) for k, v in client.counts.items() if isinstance(k, int)))}"
    )
    other = {k: v for k, v in client.counts.items() if not isinstance(k, int)}
    if other:
        print(f"problems: {other}")
    if rows:
        print(
            f"memory {rows[0]['rss_mb']} -> {rows[-1]['rss_mb']} MB; MariaDB connections "
            f"{rows[0]['db_connections']} -> {rows[-1]['db_connections']}; checked out at the end: "
            f"{final['checked_out']}; 5xx: {client.counts.get(500, 0)}"
        )


async def _token(base):
    async with aiohttp.ClientSession() as session:
        async with session.post(
            base + "/api/tokens", json={"email": "soak@example.com", "password": PASSWORD, "scope": "write"}
        ) as res:
            return (await res.json())["token"]


if __name__ == "__main__":
    main()
