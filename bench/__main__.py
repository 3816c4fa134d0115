"""myapp's async views against their peers, side by side in one run.

    python -m bench            # the full table (about 8 minutes)
    python -m bench --quick    # a smoke check (about 2 minutes)

Each server runs alone on 127.0.0.1 (pinned to one CPU, wrk to the other)
against MariaDB, is warmed up, then loaded by wrk at concurrency 1 and 32 for a
fixed time on each endpoint. Servers are measured in alternation (A B C ... A B C)
and the rounds are averaged. Prints a table and the ratios, writes JSON.

myapp runs as a user gets it (uvloop, aiomysql), and with each other choice side by
side: the asyncio loop, the asyncmy driver, and SQLAlchemy Core over either driver.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time
import urllib.request

from . import roundtrip
from .common import HERE, cpu_seconds, free_port, mysql, python, server, wrk
from .queries import DB, ROWS, THREADS

PK_ID = 4242
ENDPOINTS = {"pk": f"/pk/{PK_ID}", "fanout": "/fanout"}
SERVERS = [
    # name, module and arguments after the port
    ("myapp", ["bench.myapp_app", "raw", "aiomysql", "uvloop"]),
    ("myapp-asyncio", ["bench.myapp_app", "raw", "aiomysql", "asyncio"]),
    ("myapp-asyncmy", ["bench.myapp_app", "raw", "asyncmy", "uvloop"]),
    ("myapp-sa", ["bench.myapp_app", "sa", "aiomysql", "uvloop"]),
    ("myapp-sa-asyncmy", ["bench.myapp_app", "sa", "asyncmy", "uvloop"]),
    ("pyramid-sync", ["bench.peers.pyramid_sync"]),
    ("flask-async", ["bench.peers.flask_async"]),
    ("aiohttp", ["bench.peers.aiohttp_web"]),
    ("starlette", ["bench.peers.starlette_app"]),
]
CONCURRENCY = (1, 32)
SERVER_CPU, LOAD_CPU = 1, 0

# (label, subject, peer, concurrency, at least): requests per second of subject / peer, or with
# "cpu" CPU microseconds per request of subject / peer, at most
TARGETS = [
    ("primary key >= 1.0x Pyramid sync", ("myapp", "pk"), ("pyramid-sync", "pk"), 32, 1.0),
    ("primary key >= 0.6x aiohttp.web", ("myapp", "pk"), ("aiohttp", "pk"), 32, 0.6),
    ("SQLAlchemy Core pk >= 0.8x myapp raw", ("myapp-sa", "pk"), ("myapp", "pk"), 32, 0.8),
    ("fan-out >= 4x Pyramid sync", ("myapp", "fanout"), ("pyramid-sync", "fanout"), 32, 4.0),
    ("fan-out >= 0.95x aiohttp.web", ("myapp", "fanout"), ("aiohttp", "fanout"), 32, 0.95),
    ("primary key >= 3x Flask async", ("myapp", "pk"), ("flask-async", "pk"), 32, 3.0),
    # Flask and myapp both serve at most 16 requests at once (waitress threads): what differs is the CPU
    ("fan-out CPU/request <= 0.5x Flask async", ("myapp", "fanout"), ("flask-async", "fanout"), 32, ("cpu", 0.5)),
    # the same goals with the asyncmy driver (an option, not the default)
    ("asyncmy: primary key >= 1.0x Pyramid sync", ("myapp-asyncmy", "pk"), ("pyramid-sync", "pk"), 32, 1.0),
    ("asyncmy: primary key >= 0.6x aiohttp.web", ("myapp-asyncmy", "pk"), ("aiohttp", "pk"), 32, 0.6),
    ("asyncmy: SQLAlchemy Core pk >= 0.8x raw", ("myapp-sa-asyncmy", "pk"), ("myapp-asyncmy", "pk"), 32, 0.8),
]
NOOP_TARGET_US = 15.0


def prepare_database():
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {DB['db']} CHARACTER SET utf8mb4")
    with mysql(DB["db"]) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_items (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, value INT NOT NULL)"
        )
        cur.execute("SELECT COUNT(*) FROM bench_items")
        if cur.fetchone()[0] != ROWS:
            cur.execute("DELETE FROM bench_items")
            cur.executemany(
                "INSERT INTO bench_items (id, name, value) VALUES (%s, %s, %s)",
                [(i, f"item-{i}", i * 7 % 1000) for i in range(1, ROWS + 1)],
            )


def check(url, endpoint):
    """The endpoint answers what it should before it is measured."""
    with urllib.request.urlopen(url, timeout=10) as res:
        body = json.load(res)
    expected = {"id": PK_ID, "name": f"item-{PK_ID}", "value": PK_ID * 7 % 1000} if "pk" in endpoint else {"queries": 5}
    if body != expected:
        raise RuntimeError(f"{url} answered {body}, not {expected}")


def measure_server(name, command, seconds, warmup):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    results = {}
    module, *extra = command
    with server(python("-m", module, str(port), *extra), base + ENDPOINTS["pk"], cpu=SERVER_CPU) as proc:
        for endpoint, path in ENDPOINTS.items():
            check(base + path, endpoint)
            wrk(base + path, 32, warmup, cpu=LOAD_CPU)
        for endpoint, path in ENDPOINTS.items():
            for connections in CONCURRENCY:
                before = cpu_seconds(proc.pid)
                result = wrk(base + path, connections, seconds, cpu=LOAD_CPU)
                used = cpu_seconds(proc.pid) - before
                result["cpu_us_per_request"] = used / max(result["requests"], 1) * 1e6
                result["cpu_utilisation"] = used / seconds
                results[(endpoint, connections)] = result
                print(f"  {name:17} {endpoint:10} c{connections:<3} {result['rps']:9.1f} req/s", file=sys.stderr)
    return results


def average(runs):
    keys = runs[0].keys()
    return {k: statistics.fmean(r[k] for r in runs) for k in keys}


def run(args):
    prepare_database()
    rounds = {name: [] for name, _ in SERVERS}
    for number in range(args.rounds):
        print(f"round {number + 1} of {args.rounds}", file=sys.stderr)
        for name, command in SERVERS:
            rounds[name].append(measure_server(name, command, args.seconds, args.warmup))
    table = {}
    for name, runs in rounds.items():
        for key in runs[0]:
            table[(name, *key)] = average([r[key] for r in runs])
    noop = roundtrip.measure(5000 if args.quick else 20000)
    return table, noop


def ratio(table, subject, peer, connections, key="rps"):
    return table[(*subject, connections)][key] / table[(*peer, connections)][key]


def report(table, noop, args):
    lines = [
        f"myapp.aio benchmark: {args.rounds} round(s) x {args.seconds} s per load, waitress threads={THREADS}, "
        f"server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}",
        "",
        f"{'server':17} {'endpoint':10} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'errors':>6}",
    ]
    for (name, endpoint, connections), r in table.items():
        lines.append(
            f"{name:17} {endpoint:10} {connections:>4} {r['rps']:9.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{r['cpu_us_per_request']:11.0f} {r['errors']:6.0f}"
        )
    lines += ["", "myapp / peer, requests per second:"]
    for peer in [name for name, _ in SERVERS if name != "myapp"]:
        cells = []
        for endpoint in ENDPOINTS:
            for connections in CONCURRENCY:
                cells.append(
                    f"{endpoint} c{connections} {ratio(table, ('myapp', endpoint), (peer, endpoint), connections):5.2f}x"
                )
        lines.append(f"  vs {peer:17} " + "   ".join(cells))
    lines += ["", "no-op coroutine round trip from sync code:"]
    for name, us in noop.items():
        lines.append(f"  {name:48} {us:7.1f} us")
    lines += ["", "targets:"]
    verdicts = []
    for label, subject, peer, connections, goal in TARGETS:
        if isinstance(goal, tuple):  # CPU per request: at most
            value = ratio(table, subject, peer, connections, "cpu_us_per_request")
            held = value <= goal[1]
        else:
            value = ratio(table, subject, peer, connections)
            held = value >= goal
        verdicts.append({"target": label, "ratio": value, "held": held})
        lines.append(f"  {'held  ' if held else 'MISSED'} {label:44} {value:6.2f}x (c{connections})")
    us = noop["myapp.aio (uvloop)"]
    verdicts.append(
        {"target": f"no-op round trip <= {NOOP_TARGET_US:g} us", "value_us": us, "held": us <= NOOP_TARGET_US}
    )
    lines.append(f"  {'held  ' if us <= NOOP_TARGET_US else 'MISSED'} {'no-op round trip <= 15 us':44} {us:6.1f} us")
    return "\n".join(lines), verdicts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round of short loads (under 2 minutes)")
    parser.add_argument("--rounds", type=int, help="rounds of alternation (default 2, quick 1)")
    parser.add_argument("--seconds", type=int, help="seconds per load (default 5, quick 2)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.seconds = args.seconds or (2 if args.quick else 5)
    args.warmup = 1 if args.quick else 2
    if not shutil.which("wrk"):
        parser.error("wrk is not installed: apt-get install wrk")
    started = time.monotonic()
    table, noop = run(args)
    text, verdicts = report(table, noop, args)
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(
            {
                "settings": {"rounds": args.rounds, "seconds": args.seconds, "threads": THREADS, "quick": args.quick},
                "results": [{"server": s, "endpoint": e, "connections": c, **r} for (s, e, c), r in table.items()],
                "noop_roundtrip_us": noop,
                "targets": verdicts,
                "elapsed_s": time.monotonic() - started,
            },
            f,
            indent=2,
        )
    print(f"\nwritten to {args.out} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
