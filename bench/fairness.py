"""Fairness between owners: one owner's monitors and alerts that never answer in time, trickle, or name hosts
whose names never resolve must not make anyone else's checks late or alerts slow.

    python -m bench.fairness [--good 200] [--abusive 1000] [--interval 10] [--rounds 3] [--root PATH]
                             [--neighbours hang,trickle,names]

Runs one myapp process (production.ini, scheduler and outbox on) on a fresh bench database, first alone with
a well-behaved owner (``--good`` monitors every ``--interval`` s against the local target, named
``localhost`` as /etc/hosts has it, and two channels: a webhook and an Apprise JSON service), then the same
beside each abusive neighbour in turn:

- **hang**: ``--abusive`` monitors on the target's /hang, which never answers, with the longest timeout a
  check has here, and 500 deliveries to 50 webhooks on /hang;
- **trickle**: 500 deliveries to 50 Apprise services on the target's /trickle, which sends a byte every 2 s
  (each read within its timeout: the thread is held until the attempt's deadline cuts it);
- **names**: ``--abusive`` TCP monitors on names the app's name server (a DNS server of this bench's on
  loopback, ``outbound.name_servers``) never answers.

In each run it measures, over ``--rounds`` intervals after one of warm-up: the well-behaved monitors' lateness
(start of each check - its slot on the schedule) p50/p99/max and slots missed, and how long a well-behaved
owner's alert waits before it is sent (one new delivery a second on average through each channel, at random
moments: sent - created).  Goal: each abused run's figures within 10 % of the run alone (or 50 ms: below
that, the noise of a 2-core machine).  ``--root`` measures another checkout (a worktree of the code before a
change; one without ``outbound.name_servers`` asks the system's resolver, and the names neighbour means
nothing there).
"""

import argparse
import asyncio
import datetime
import json
import random
import threading
import time
import uuid

import sqlalchemy
from dnslib import QTYPE, RR, A, DNSRecord

from .common import BENCH_DB, ROOT, free_port, mysql, production_app, python, script, server

TIMEOUT = 10
PASSWORD = "bench password 0123456789"


def engine():
    return sqlalchemy.create_engine(f"mysql+pymysql://root@127.0.0.1:3306/{BENCH_DB}")


def user_id(conn, email):
    return conn.execute(sqlalchemy.text("SELECT id FROM users WHERE email = :e"), {"e": email}).scalar()


def has_column(conn, table, column):
    found = conn.execute(
        sqlalchemy.text(
            "SELECT COUNT(*) FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = :t AND column_name = :c"
        ),
        {"t": table, "c": column},
    ).scalar()
    return bool(found)


def monitor_rows(owner, count, interval, timeout, url, start):
    """``count`` monitors of ``owner`` due at moments spread over one interval from ``start``: every column
    of today's model with its default (insert_monitors keeps those the measured checkout's table has)."""
    from myapp.models import Monitor

    now = utcnow()
    defaults = {
        c.name: c.default.arg
        for c in Monitor.__table__.columns
        if c.default is not None and c.default.is_scalar and c.name != "id"
    }
    return [
        {
            **defaults,
            "user_id": owner,
            "name": f"m {n}",
            "url": url.format(n=n),
            "method": "GET",
            "interval": interval,
            "timeout": timeout,
            "expect_status": "200-399",
            "tags": "[]",
            "state": "PENDING",
            "state_since": now,
            "recent": "",
            "due_at": start + datetime.timedelta(seconds=interval * n / count),
            "next_check_at": start + datetime.timedelta(seconds=interval * n / count),
            "version": 0,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]


def insert_monitors(conn, rows):
    """Insert into the monitors table as the measured checkout made it (an older one may lack columns)."""
    table = sqlalchemy.Table("monitors", sqlalchemy.MetaData(), autoload_with=conn)
    conn.execute(table.insert(), [{k: v for k, v in row.items() if k in table.c} for row in rows])


def add_channel(conn, owner, url, confirmed, kind="webhook"):
    now = utcnow()
    extra = ", confirmed_at" if confirmed else ""
    result = conn.execute(
        sqlalchemy.text(
            f"INSERT INTO channels (user_id, name, kind, target, slack, created_at, updated_at{extra}) "
            f"VALUES (:u, 'hook', :k, :t, 0, :now, :now{', :now' if confirmed else ''})"
        ),
        {"u": owner, "k": kind, "t": url, "now": now},
    )
    return result.lastrowid


class NeverForSome(asyncio.DatagramProtocol):
    """A name server on loopback that answers 127.0.0.1 for every name but those under hang.test: never (the
    question is dropped, as by a server behind a firewall)."""

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        question = DNSRecord.parse(data)
        if str(question.q.qname).endswith(".hang.test."):
            return
        reply = question.reply()
        reply.add_answer(RR(question.q.qname, QTYPE.A, rdata=A("127.0.0.1"), ttl=60))
        self.transport.sendto(reply.pack(), addr)


def name_server():
    """NeverForSome on a free UDP port of 127.0.0.1, in a thread of its own: its port."""
    loop = asyncio.new_event_loop()
    transport, _ = loop.run_until_complete(loop.create_datagram_endpoint(NeverForSome, local_addr=("127.0.0.1", 0)))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return transport.get_extra_info("sockname")[1]


def add_deliveries(conn, channel_ids, each):
    now = utcnow()
    rows = []
    for channel_id in channel_ids:
        for _ in range(each):
            key = uuid.uuid4().hex
            document = {"delivery": key, "event": "test", "at": now.isoformat() + "Z", "channel": "bench"}
            rows.append({"k": key, "c": channel_id, "d": json.dumps(document), "now": now})
    conn.execute(
        sqlalchemy.text(
            "INSERT INTO deliveries (`key`, channel_id, event, document, status, attempts, due_at, created_at) "
            "VALUES (:k, :c, 'test', :d, 'pending', 0, :now, :now)"
        ),
        rows,
    )


def quantiles(values):
    if not values:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.5), "p99": pick(0.99), "max": ordered[-1], "n": len(ordered)}


def measure(args, root, neighbour, name_server):
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    target_port, port = free_port(), free_port()
    target = f"http://127.0.0.1:{target_port}"
    settings = {
        "monitors.scheduler": "true",
        "alerts.outbox": "true",
        "outbound.private_targets": "allow",
        "threads": "2",
        "monitors.min_interval": "1",
        "monitors.max_per_user": "0",
        "outbound.name_servers": f"127.0.0.1:{name_server}",
    }
    with server(python("-m", "bench.target", "serve", str(target_port)), target + "/", cpu=0):
        with production_app(port, root=root, **settings) as (ini, env):
            for email in ("good@example.com", "abuser@example.com"):
                script(root, env, "create_admin", ini, "--email", email, "--password-stdin", stdin=PASSWORD + "\n")
            db = engine()
            start = utcnow() + datetime.timedelta(seconds=3)
            with db.begin() as conn:
                good, bad = user_id(conn, "good@example.com"), user_id(conn, "abuser@example.com")
                confirmed = has_column(conn, "channels", "confirmed_at")
                named = f"http://localhost:{target_port}"  # looked up, in /etc/hosts
                rows = monitor_rows(good, args.good, args.interval, 5, named + "/m/{n}", start)
                slots = {row["name"]: row["due_at"] for row in rows}
                if neighbour == "hang":
                    rows += monitor_rows(bad, args.abusive, args.interval, TIMEOUT, target + "/hang", start)
                if neighbour == "names":
                    unnamed = monitor_rows(bad, args.abusive, args.interval, TIMEOUT, "", start)
                    for n, row in enumerate(unnamed):
                        row.update(kind="tcp", url=None, host=f"n{n}.hang.test", port=80)
                    rows += unnamed
                insert_monitors(conn, rows)
                hooks = [
                    add_channel(conn, good, target + "/hook", confirmed),
                    add_channel(conn, good, f"json://localhost:{target_port}/hook", confirmed, "apprise"),
                ]
                hung = []
                if neighbour == "hang":
                    hung = [add_channel(conn, bad, target + "/hang", confirmed) for _ in range(50)]
                if neighbour == "trickle":
                    trickling = f"json://127.0.0.1:{target_port}/trickle"
                    hung = [add_channel(conn, bad, f"{trickling}?n={n}", confirmed, "apprise") for n in range(50)]
                ids = dict(
                    conn.execute(sqlalchemy.text("SELECT name, id FROM monitors WHERE user_id = :u"), {"u": good}).all()
                )
            first_slot = {ids[name]: due for name, due in slots.items()}
            with server(["pserve", ini], f"http://127.0.0.1:{port}/api/health", env=env):
                time.sleep(max(0.0, (start - utcnow()).total_seconds()) + args.interval)  # warm-up: one round
                since = utcnow()
                if hung:
                    with db.begin() as conn:
                        add_deliveries(conn, hung, 10)
                end = time.monotonic() + args.rounds * args.interval
                pace = random.Random(1)
                while time.monotonic() < end:
                    with db.begin() as conn:
                        add_deliveries(conn, hooks, 1)
                    time.sleep(pace.uniform(0.5, 1.5))  # not in step with the outbox's polls
                until = utcnow()
                time.sleep(3)  # the last alerts go out
            with db.connect() as conn:
                results = conn.execute(
                    sqlalchemy.text(
                        "SELECT r.monitor_id, r.at FROM check_results r JOIN monitors m ON m.id = r.monitor_id "
                        "WHERE m.user_id = :u AND r.at >= :s AND r.at < :e ORDER BY r.monitor_id, r.at"
                    ),
                    {"u": good, "s": since, "e": until},
                ).all()
                sent = conn.execute(
                    sqlalchemy.text(
                        "SELECT created_at, sent_at FROM deliveries WHERE channel_id IN (:w, :a) AND created_at >= :s"
                    ),
                    {"w": hooks[0], "a": hooks[1], "s": since},
                ).all()
            db.dispose()
    late, checked = [], {}
    for monitor_id, at in results:
        offset = (at - first_slot[monitor_id]).total_seconds() % args.interval
        late.append(offset * 1000)
        checked.setdefault(monitor_id, []).append(at)
    expected = int((until - since).total_seconds() // args.interval)
    missed = sum(max(0, expected - len(checked.get(m, []))) for m in first_slot)
    delays = [(s - c).total_seconds() * 1000 for c, s in sent if s is not None]
    return {
        "lateness": quantiles(late),
        "missed": missed,
        "delay": quantiles(delays),
        "unsent": sum(1 for _, s in sent if s is None),
    }


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def fmt(q):
    if not q["n"]:
        return "none"
    return f"p50 {q['p50']:7.1f} ms  p99 {q['p99']:7.1f} ms  max {q['max']:7.1f} ms  ({q['n']})"


def within(abused, alone):
    return abused <= alone * 1.1 or abused - alone <= 50


NEIGHBOURS = ("hang", "trickle", "names")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--good", type=int, default=200)
    parser.add_argument("--abusive", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--neighbours", default=",".join(NEIGHBOURS), help="of " + ", ".join(NEIGHBOURS))
    args = parser.parse_args(argv)
    neighbours = [n for n in args.neighbours.split(",") if n]
    if set(neighbours) - set(NEIGHBOURS):
        parser.error(f"--neighbours: of {', '.join(NEIGHBOURS)}")

    port = name_server()
    runs = {"alone": measure(args, args.root, None, port)}
    for neighbour in neighbours:
        runs[neighbour] = measure(args, args.root, neighbour, port)
    print(
        f"fairness: {args.good} well-behaved monitors every {args.interval} s and two alerts a second (a webhook, an "
        f"Apprise service), alone and beside each neighbour; {args.root}"
    )
    print(
        f"  neighbours: hang = {args.abusive} monitors and 500 webhook deliveries that never answer (timeout "
        f"{TIMEOUT} s); trickle = 500 Apprise deliveries to receivers that send a byte every 2 s; names = "
        f"{args.abusive} TCP monitors on names that never resolve"
    )
    alone = runs["alone"]
    for name, run in runs.items():
        print(f"  {name:8} check lateness  {fmt(run['lateness'])}; slots missed {run['missed']}")
        print(f"  {name:8} alert delay     {fmt(run['delay'])}; not sent {run['unsent']}")
    for name in neighbours:
        run = runs[name]
        checks_held = run["missed"] == 0 and within(run["lateness"]["p99"] or 0, alone["lateness"]["p99"] or 0)
        alerts_held = run["unsent"] == 0 and within(run["delay"]["p99"] or 0, alone["delay"]["p99"] or 0)
        print(
            f"  goal, {name:8} checks {'held' if checks_held else 'MISSED'}, alerts {'held' if alerts_held else 'MISSED'}: "
            "p99 beside the neighbour within 10 % (or 50 ms) of the run alone, nothing missed"
        )


if __name__ == "__main__":
    main()
