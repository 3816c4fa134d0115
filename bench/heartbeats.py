"""Heartbeat pings: how many one myapp process takes, and how fast it answers them, on MariaDB.

    python -m bench.heartbeats [--monitors 2000] [--connections 32] [--seconds 10] [--rates 20,100,1000]

Runs production.ini (one process, its scheduler on) against a fresh bench database holding ``--monitors``
heartbeat monitors.  The same run measures a peer on the same database: a plain Pyramid view on
waitress (PyMySQL, a connection per thread) that writes each ping in a transaction of its own, as a
ping handler usually does (find the monitor by its token, store the ping, move the monitor's deadline,
commit).  Both answer once the ping is stored.  Each is loaded at the paced ``--rates`` (GET /ping/<token>
of a random monitor, each sent at its time whatever the answers before it: latency p50/p99 and the CPU a
ping costs, the server's and MariaDB's, background work included), then with wrk from ``--connections``
connections (as many pings a second as it takes).  Prints both, their ratio, and the ratio to Healthchecks'
published ~250 pings/s for its open-source ping handler.  Goal: at least the peer's pings/s, p99 under
100 ms at the highest paced rate.

wrk and both servers share this machine's cores: the server under test is pinned to CPU 1, wrk to CPU 0
(MariaDB floats).  The load average before the run is printed with the results.
"""

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid

import sqlalchemy

from .common import (
    BENCH_DB,
    ROOT,
    cpu_seconds,
    free_port,
    health_details,
    mysql,
    pinned,
    production_app,
    script,
    server,
    wrk,
)
from .fairness import engine, insert_monitors, monitor_rows, user_id

HEALTHCHECKS_PINGS_PER_SECOND = 250  # its documentation's figure for the open-source ping handler
PASSWORD = "bench password 0123456789"
LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
math.randomseed(%d)
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
"""


def add_heartbeats(owner, count):
    """``count`` heartbeat monitors of ``owner`` (a day's period: none is late during the run): their tokens."""
    far = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(days=1)
    rows = monitor_rows(owner, count, 86400, 10, "", far)
    tokens = [str(uuid.uuid4()) for _ in rows]
    for row, token in zip(rows, tokens):
        row.update(
            kind="heartbeat",
            url=None,
            grace=60,
            failures_to_down=1,
            ping_token=token,
            ping_hash=hashlib.sha256(token.encode()).hexdigest(),
        )
    with engine().begin() as conn:
        insert_monitors(conn, rows)
    return tokens


def peer(port):
    """A ping handler written the usual way: a sync Pyramid view, a transaction per ping."""
    import threading

    import pymysql
    import waitress
    from pyramid.config import Configurator
    from pyramid.response import Response

    local = threading.local()

    def connection():
        if getattr(local, "conn", None) is None:
            local.conn = pymysql.connect(host="127.0.0.1", user="root", database=BENCH_DB)
        return local.conn

    def ping(request):
        token_hash = hashlib.sha256(request.matchdict["token"].encode()).hexdigest()
        conn = connection()
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT id, `interval`, grace FROM monitors WHERE ping_hash = %s AND kind = 'heartbeat' FOR UPDATE",
                    (token_hash,),
                )
                found = cur.fetchone()
                if found is None:
                    conn.rollback()
                    return Response("not found\n", status=404, content_type="text/plain")
                monitor_id, interval, grace = found
                due = now + datetime.timedelta(seconds=interval + grace)
                cur.execute(
                    "INSERT INTO pings (monitor_id, at, event, method, source) VALUES (%s, %s, 'success', %s, %s)",
                    (monitor_id, now, request.method, request.remote_addr),
                )
                cur.execute(
                    "UPDATE monitors SET state = 'UP', last_check_at = %s, last_ok = 1, due_at = %s, "
                    "next_check_at = %s, version = version + 1 WHERE id = %s",
                    (now, due, due, monitor_id),
                )
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        return Response("OK\n", content_type="text/plain")

    with Configurator() as config:
        config.add_route("ping", "/ping/{token}")
        config.add_view(ping, route_name="ping")
    waitress.serve(config.make_wsgi_app(), host="127.0.0.1", port=port, threads=16, _quiet=True)


def tree_cpu(pid):
    """CPU seconds of ``pid`` and its children (pserve runs the app in a child when it reloads; not here)."""
    total = cpu_seconds(pid)
    for child in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split():
        total += tree_cpu(int(child))
    return total


def mariadb_pid():
    found = subprocess.run(["pgrep", "-o", "mariadbd|mysqld"], capture_output=True, text=True).stdout.split()
    return int(found[0]) if found else None


async def paced(base, paths, rate, seconds):
    """Open-loop load: ``rate`` GETs a second for ``seconds``, each sent at its time whatever the answers
    before it; latency counts from that time (a server that falls behind is not let off).  Sorted latencies
    in ms, and answers other than 200."""
    import aiohttp

    latencies, errors = [], 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1

        async def one(n):
            nonlocal errors
            at = start + n / rate
            await asyncio.sleep(max(0.0, at - loop.time()))
            try:
                async with session.get(base + paths[n % len(paths)]) as res:
                    await res.read()
                    errors += res.status != 200
            except aiohttp.ClientError:
                errors += 1
            latencies.append((loop.time() - at) * 1000)

        await asyncio.gather(*(one(n) for n in range(int(rate * seconds))))
    return sorted(latencies), errors


def at_rate(base, tokens, rate, seconds):
    """paced() from a process of its own on CPU 0: {rate, p50_ms, p99_ms, errors}."""
    paths = [f"/ping/{token}" for token in tokens]
    random.Random(1).shuffle(paths)
    code = (
        "import asyncio, json, sys; from bench.heartbeats import paced; "
        "paths = json.load(sys.stdin); "
        f"print(json.dumps(asyncio.run(paced({base!r}, paths, {rate}, {seconds}))))"
    )
    out = subprocess.run(
        pinned(0, [sys.executable, "-c", code]), input=json.dumps(paths), capture_output=True, text=True, check=True
    ).stdout
    latencies, errors = json.loads(out)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {"rate": rate, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": latencies[-1], "errors": errors}


def load(base, tokens, args, pid):
    with (
        tempfile.NamedTemporaryFile("w", suffix=".txt") as paths,
        tempfile.NamedTemporaryFile("w", suffix=".lua") as lua,
    ):
        paths.write("".join(f"/ping/{token}\n" for token in tokens))
        paths.flush()
        lua.write(LUA % (paths.name, random.randrange(1 << 30)))
        lua.flush()
        at_rate(base, tokens, 1000, len(tokens) / 1000)  # warm-up: each monitor pinged once
        database = mariadb_pid()

        def cpu():
            return tree_cpu(pid), cpu_seconds(database) if database else 0.0

        def per_ping(before, count):
            return [round(1000 * (b - a) / max(count, 1), 3) for a, b in zip(before, cpu())]

        paced_results = []
        for rate in args.rates:
            before = cpu()
            paced_ = at_rate(base, tokens, rate, args.seconds)
            paced_["cpu_ms"] = per_ping(before, rate * args.seconds)
            paced_results.append(paced_)
        since, before = last_ping_id(), cpu()
        result = wrk(base + "/ping/" + tokens[0], args.connections, args.seconds, cpu=0, script=lua.name)
        result["cpu_ms"] = per_ping(before, result["requests"])
        result["stored"] = stored(since)
        result["paced"] = paced_results
        return result


def stored(since_id):
    with engine().connect() as conn:
        return conn.execute(sqlalchemy.text("SELECT COUNT(*) FROM pings WHERE id > :i"), {"i": since_id}).scalar()


def last_ping_id():
    with engine().connect() as conn:
        return conn.execute(sqlalchemy.text("SELECT COALESCE(MAX(id), 0) FROM pings")).scalar()


def fmt(result):
    return (
        f"{result['rps']:8.0f} pings/s  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
        f"errors {result['errors']}  CPU a ping: server {result['cpu_ms'][0]:.2f} ms, MariaDB {result['cpu_ms'][1]:.2f} ms"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--rates",
        type=lambda text: [int(rate) for rate in text.split(",")],
        default=[20, 100, 1000],
        help="pings a second of the paced runs, one after the other",
    )
    parser.add_argument("--threads", type=int, default=None, help="waitress threads (the ini's 16)")
    parser.add_argument("--app", default=ROOT, help="the myapp checkout to measure (another version of it, to compare)")
    parser.add_argument("--writers", type=int, default=None, help="monitors.ping_writers (the ini's default)")
    args = parser.parse_args(argv)
    port, peer_port = free_port(), free_port()
    # pings a minute per monitor: more than this run sends to one (the limit is measured by the tests)
    settings = {"monitors.pings_per_minute": "100000", "monitors.max_per_user": "0"}
    if args.threads:
        settings["threads"] = str(args.threads)
    if args.writers:
        settings["monitors.ping_writers"] = str(args.writers)
    results, load_before = {}, " ".join(f"{n:.2f}" for n in os.getloadavg())
    with mysql() as conn, conn.cursor() as cur:  # a fresh database: the runs before left their monitors
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    with production_app(port, root=args.app, **settings) as (ini, env):
        script(
            args.app,
            env,
            "create_admin",
            ini,
            "--email",
            "pings@example.com",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        with engine().connect() as conn:
            owner = user_id(conn, "pings@example.com")
        tokens = add_heartbeats(owner, args.monitors)
        for name, argv, url in (
            ("myapp", ["pserve", ini], f"http://127.0.0.1:{port}"),
            (
                "peer",
                [sys.executable, "-m", "bench.heartbeats", "--peer", str(peer_port)],
                f"http://127.0.0.1:{peer_port}",
            ),
        ):
            with server(argv, f"{url}/ping/{tokens[0]}", env=env, cpu=1) as proc:
                results[name] = load(url, tokens, args, proc.pid)
                if name == "myapp":
                    results[name]["writer"] = health_details(url).get("pings")
    mine, theirs = results["myapp"], results["peer"]
    print(f"{args.monitors} heartbeat monitors on MariaDB; servers on CPU 1, load on CPU 0")
    print(f"load average before the run: {load_before}")
    print(f"paced, {args.seconds} s a rate (latency from each ping's time; CPU a ping: server + MariaDB):")
    for n, rate in enumerate(args.rates):
        for name, result in (("myapp", mine), ("peer (a transaction a ping)", theirs)):
            paced_ = result["paced"][n]
            print(
                f"  {rate:5}/s {name:28} p50 {paced_['p50_ms']:6.1f} ms  p99 {paced_['p99_ms']:6.1f} ms  "
                f"max {paced_['max_ms']:6.1f} ms  errors {paced_['errors']}  "
                f"CPU a ping {paced_['cpu_ms'][0]:.2f} + {paced_['cpu_ms'][1]:.2f} ms"
            )
    print(f"as many as they take (wrk, {args.connections} connections, {args.seconds} s):")
    print(f"  {'myapp':28} {fmt(mine)}  ({mine['stored']} pings stored)")
    print(f"  {'peer (a transaction a ping)':28} {fmt(theirs)}  ({theirs['stored']} pings stored)")
    print(f"  myapp's writers: {mine['writer']}")
    print(f"  myapp / peer: {mine['rps'] / theirs['rps']:.2f}x pings/s")
    print(
        f"  myapp / Healthchecks' published ~{HEALTHCHECKS_PINGS_PER_SECOND} pings/s: "
        f"{mine['rps'] / HEALTHCHECKS_PINGS_PER_SECOND:.1f}x"
    )
    fastest = mine["paced"][-1]
    goal = mine["rps"] >= theirs["rps"] and fastest["p99_ms"] < 100 and not fastest["errors"] and not mine["errors"]
    print(
        f"goal (takes at least the peer's pings/s, stored before each answer; p99 < 100 ms at {args.rates[-1]}/s; "
        f"no errors): {'met' if goal else 'NOT met'}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peer"]:
        peer(int(sys.argv[2]))
    else:
        main()
