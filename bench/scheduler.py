"""The scheduler under load: N monitors against a local target, checked by one or more myapp processes.

    python -m bench.scheduler [--monitors 10000] [--interval 60] [--processes 1] [--rounds 2] [--mix 70,10,10,10]

Starts the target (bench/target.py, another process, pinned to CPU 0), then
``--processes`` copies of production.ini with the scheduler on (their web threads
idle), and inserts N monitors due over the next interval.  After one interval of
warm-up it measures ``--rounds`` intervals: checks/s against the N/interval needed,
monitors missed (a gap over 1.5 intervals, or never checked) and checked twice (a gap
under half an interval), lateness (start - due) p50/p99/max from each process, and
CPU per check.  Then, as the ceiling, a bare aiohttp client loop hits the same target
in the same run: requests/s and CPU per request.

``--mix H,T,D,B``: percentages of HTTP, TCP (a connection to the target's port), DNS (an A record from a
dnslib server this script runs on loopback) and heartbeat monitors (never pinged: each is found late,
and checked so, every interval).  Without it, every monitor is HTTP.
"""

import argparse
import collections
import contextlib
import datetime
import json
import os
import subprocess
import time
import urllib.request

import sqlalchemy
from sqlalchemy import insert

from myapp.models import Monitor
from myapp.models.meta import utcnow

from .common import (
    BENCH_DB,
    METRICS_TOKEN,
    ROOT,
    cpu_seconds,
    free_port,
    mysql,
    pinned,
    production_app,
    python,
    script,
    server,
)

TARGET_CPU = 0
PASSWORD = "bench password 0123456789"


KINDS = ("http", "tcp", "dns", "heartbeat")


def kinds_of(count, mix):
    """The kind of each of ``count`` monitors, in the proportions of ``mix`` (percentages), interleaved."""
    weights = [int(w) for w in mix.split(",")] if mix else [100, 0, 0, 0]
    if len(weights) != len(KINDS) or sum(weights) <= 0:
        raise SystemExit("--mix takes four percentages: HTTP,TCP,DNS,heartbeat")
    cycle = [kind for kind, weight in zip(KINDS, weights) for _ in range(weight)]
    return [cycle[n % len(cycle)] for n in range(count)]


def kind_fields(kind, n, target, target_port, resolver):
    """The kind's columns of monitor ``n`` (every row has them all: one INSERT takes its columns from the first)."""
    fields = {"url": None, "host": None, "port": None, "record_type": None, "resolver": None, "grace": None}
    if kind == "tcp":
        return {**fields, "host": "127.0.0.1", "port": target_port}
    if kind == "dns":
        return {**fields, "host": f"m{n}.bench.test", "record_type": "A", "resolver": resolver}
    if kind == "heartbeat":
        return {**fields, "grace": 0}
    return {**fields, "url": f"{target}/m/{n}"}


def dns_server():
    """A DNS server on loopback answering an A record for any name (dnslib, in a thread): its address."""
    from dnslib import QTYPE, RR, A
    from dnslib.server import BaseResolver, DNSLogger, DNSServer

    class Anything(BaseResolver):
        def resolve(self, request, handler):
            reply = request.reply()
            if request.q.qtype == QTYPE.A:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("192.0.2.1"), ttl=60))
            return reply

    server = DNSServer(Anything(), address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda *_: None))
    server.start_thread()
    return f"127.0.0.1:{server.server.server_address[1]}"


def insert_monitors(count, interval, start, db_port=3306):
    """``count`` monitors of one user, due at moments spread evenly over one interval from ``start``."""
    engine = sqlalchemy.create_engine(f"mysql+pymysql://root@127.0.0.1:{db_port}/{BENCH_DB}")
    with engine.begin() as conn:
        user_id = conn.execute(sqlalchemy.text("SELECT id FROM users WHERE email = 'bench@example.com'")).scalar()
        now = utcnow()
        rows = []
        for n in range(count):
            due = start + datetime.timedelta(seconds=interval * n / count)
            rows.append(
                {
                    "user_id": user_id,
                    "name": f"bench {n}",
                    "url": f"{{target}}/m/{n}",
                    "method": "GET",
                    "headers": None,
                    "body": None,
                    "interval": interval,
                    "timeout": 10,
                    "expect_status": "200-399",
                    "tls_days": 14,
                    "failures_to_down": 2,
                    "successes_to_up": 1,
                    "paused": False,
                    "tags": [],
                    "state": "PENDING",
                    "state_since": now,
                    "fail_streak": 0,
                    "pass_streak": 0,
                    "recent": "",
                    "due_at": due,
                    "next_check_at": due,
                    "version": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        return engine, rows


def health(url):
    request = urllib.request.Request(url + "/api/health", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as res:
        return json.load(res)


def gaps_report(engine, interval, since, until):
    """(checks in the window, never checked, missed, checked twice) from the stored results."""
    with engine.connect() as conn:
        rows = conn.execute(
            sqlalchemy.text(
                "SELECT m.id, r.at FROM monitors m LEFT JOIN check_results r ON r.monitor_id = m.id ORDER BY m.id, r.at"
            )
        ).all()
    times = collections.defaultdict(list)
    for monitor_id, at in rows:
        times[monitor_id].append(at)
    never = missed = twice = in_window = 0
    for monitor_times in times.values():
        checks = [t for t in monitor_times if t is not None]
        if not checks:
            never += 1
            continue
        in_window += sum(1 for t in checks if since <= t < until)
        gaps = [(b - a).total_seconds() for a, b in zip(checks, checks[1:]) if a >= since and b < until]
        missed += any(g > 1.5 * interval for g in gaps)
        twice += any(g < 0.5 * interval for g in gaps)
    return in_window, never, missed, twice


def arguments(argv=None, **defaults):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--monitors", type=int, default=10000)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=100, help="monitors.max_concurrency of each process")
    parser.add_argument("--mix", default=None, help="percentages of HTTP,TCP,DNS,heartbeat monitors (100,0,0,0)")
    parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def main(argv=None):
    args = arguments(argv)
    report(args, measure(args))


def measure(args, db_ports=(3306,), db_pids=()):
    """Run the benchmark: process n uses the database server at ``db_ports[n % len(db_ports)]`` (the first
    holds the schema; the others replicate it); ``db_pids``: the servers' processes, whose CPU is counted."""
    with mysql(port=db_ports[0]) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    target_port = free_port()
    target = f"http://127.0.0.1:{target_port}"
    settings = {
        "monitors.scheduler": "true",
        "outbound.private_targets": "allow",
        "threads": "2",
        "monitors.min_interval": "1",
        "monitors.max_per_user": "0",
        "monitors.max_concurrency": str(args.concurrency),
    }
    with server(python("-m", "bench.target", "serve", str(target_port)), target + "/", cpu=TARGET_CPU):
        ports = [free_port() for _ in range(args.processes)]
        with production_app(ports[0], db_port=db_ports[0], **settings) as (first_ini, env):
            script(
                ROOT,
                env,
                "create_admin",
                first_ini,
                "--email",
                "bench@example.com",
                "--password-stdin",
                stdin=PASSWORD + "\n",
            )
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            with contextlib.ExitStack() as stack:
                inis = [first_ini]
                for port in ports[1:]:  # the same ini, another port
                    with open(first_ini) as f:
                        text = f.read().replace(f"127.0.0.1:{ports[0]}", f"127.0.0.1:{port}")
                    path = first_ini.replace(".ini", f"-{port}.ini")
                    with open(path, "w") as f:
                        f.write(text)
                    stack.callback(os.remove, path)
                    inis.append(path)
                envs = [
                    {
                        **env,
                        "MYAPP_DATABASE_URL": env["MYAPP_DATABASE_URL"].replace(
                            f":{db_ports[0]}/", f":{db_ports[n % len(db_ports)]}/"
                        ),
                    }
                    for n in range(args.processes)
                ]
                processes = [
                    stack.enter_context(server(["pserve", ini], url + "/api/health", env=process_env))
                    for ini, url, process_env in zip(inis, urls, envs)
                ]
                start = utcnow() + datetime.timedelta(seconds=2)
                engine, rows = insert_monitors(args.monitors, args.interval, start, db_ports[0])
                resolver = dns_server() if args.mix else None
                for n, (row, kind) in enumerate(zip(rows, kinds_of(args.monitors, args.mix))):
                    row.update(kind=kind, **kind_fields(kind, n, target, target_port, resolver))
                with engine.begin() as conn:
                    conn.execute(insert(Monitor.__table__), rows)
                warm = (start - utcnow()).total_seconds() + args.interval
                time.sleep(max(0.0, warm))  # the first round: every monitor checked once
                since = utcnow()
                cpu_before = [cpu_seconds(p.pid) for p in processes]
                db_before = [cpu_seconds(pid) for pid in db_pids]
                wall_before = time.monotonic()
                time.sleep(args.rounds * args.interval)
                wall = time.monotonic() - wall_before
                cpu = sum(cpu_seconds(p.pid) for p in processes) - sum(cpu_before)
                db_cpu = sum(cpu_seconds(pid) for pid in db_pids) - sum(db_before)
                until = utcnow()
                stats = [health(url)["scheduler"] for url in urls]
            in_window, never, missed, twice = gaps_report(engine, args.interval, since, until)
        ceiling = json.loads(
            subprocess.run(
                pinned(1, python("-m", "bench.target", "client", target + "/ceiling", "10", str(args.concurrency))),
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout
        )
    return {
        "wall": wall,
        "cpu": cpu,
        "db_cpu": db_cpu,
        "in_window": in_window,
        "never": never,
        "missed": missed,
        "twice": twice,
        "stats": stats,
        "ceiling": ceiling,
    }


def report(args, result):
    wall, cpu, in_window, stats, ceiling = (result[k] for k in ("wall", "cpu", "in_window", "stats", "ceiling"))
    missed, never, twice = result["missed"], result["never"], result["twice"]
    needed = args.monitors / args.interval
    rate = in_window / wall
    print(
        f"scheduler benchmark: {args.monitors} monitors every {args.interval} s, {args.processes} process(es), "
        f"max_concurrency {args.concurrency}, measured over {wall:.0f} s"
    )
    if args.mix:
        print(f"  kinds        {dict(collections.Counter(kinds_of(args.monitors, args.mix)))}")
    print(f"  checks/s     {rate:8.1f}   (needed {needed:.1f}: {rate / needed:.2f}x)")
    print(f"  missed       {missed:8d}   never checked {never}, checked twice in an interval {twice}")
    for n, s in enumerate(stats, 1):
        late = s["lateness_ms"]
        print(
            f"  process {n}    {s['checks']:8d} checks; lateness p50 {late['p50']} ms, p99 {late['p99']} ms, "
            f"max {late['max']} ms (latest {late['of_checks']}); results lost {s['results_lost']}, "
            f"conflicts {s.get('conflicts', 0)}"
        )
    per_check = cpu / max(in_window, 1) * 1e6
    print(
        f"  CPU          {per_check:8.0f} us per check ({cpu / wall * 100:.0f}% of one core for "
        f"{args.processes} process(es))"
    )
    print(
        f"  ceiling      {ceiling['rps']:8.0f} req/s, {ceiling['cpu_us_per_request']:.0f} us CPU per request: "
        f"a bare aiohttp client loop on the same target (concurrency {args.concurrency})"
    )
    print(
        f"  ratio        myapp spends {per_check / ceiling['cpu_us_per_request']:.2f}x the bare client's CPU "
        f"per check; one core's worth is {1e6 / per_check * args.interval:,.0f} monitors at {args.interval} s"
    )
    late_p99 = max((s["lateness_ms"]["p99"] or 0) for s in stats)
    held = missed == 0 and never == 0 and twice == 0 and late_p99 < 1000
    print(
        f"  goal         {'held' if held else 'MISSED'}: lateness p99 under 1 s, none missed "
        f"(p99 {late_p99} ms, {missed + never} missed)"
    )


if __name__ == "__main__":
    main()
