"""Fairness between owners: one owner's monitors and webhooks that never answer in time must not make
anyone else's checks late or alerts slow.

    python -m bench.fairness [--good 200] [--abusive 1000] [--interval 10] [--rounds 3] [--root PATH]

Runs one myapp process (production.ini, scheduler and outbox on) twice on a fresh bench database: alone
with a well-behaved owner (``--good`` monitors every ``--interval`` s against the local target, and a
webhook channel), then the same with an abusive owner beside it (``--abusive`` monitors on the target's
/hang, which never answers, with the longest timeout a check has here, and 500 deliveries to 50 webhooks
on /hang).  In each run it measures, over ``--rounds`` intervals after one of warm-up: the well-behaved
monitors' lateness (start of each check - its slot on the schedule) p50/p99/max and slots missed, and how
long a well-behaved owner's alert waits before it is sent (one new delivery a second on average, at random moments: sent - created).
Goal: the abused run's figures within 10 % of the run alone (or 50 ms: below that, the noise of a
2-core machine).  ``--root`` measures another checkout (a worktree of the code before a change).
"""

import argparse
import datetime
import json
import random
import time
import uuid

import sqlalchemy

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


def add_channel(conn, owner, url, confirmed):
    now = utcnow()
    extra = ", confirmed_at" if confirmed else ""
    result = conn.execute(
        sqlalchemy.text(
            f"INSERT INTO channels (user_id, name, kind, target, slack, created_at, updated_at{extra}) "
            f"VALUES (:u, 'hook', 'webhook', :t, 0, :now, :now{', :now' if confirmed else ''})"
        ),
        {"u": owner, "t": url, "now": now},
    )
    return result.lastrowid


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


def measure(args, root, abusive):
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    target_port, port = free_port(), free_port()
    target = f"http://127.0.0.1:{target_port}"
    settings = {
        "monitors.scheduler": "true",
        "alerts.outbox": "true",
        "monitors.private_targets": "allow",
        "threads": "2",
        "monitors.min_interval": "1",
        "monitors.max_per_user": "0",
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
                rows = monitor_rows(good, args.good, args.interval, 5, target + "/m/{n}", start)
                slots = {row["name"]: row["due_at"] for row in rows}
                if abusive:
                    rows += monitor_rows(bad, args.abusive, args.interval, TIMEOUT, target + "/hang", start)
                insert_monitors(conn, rows)
                hook = add_channel(conn, good, target + "/hook", confirmed)
                hung = [add_channel(conn, bad, target + "/hang", confirmed) for _ in range(50)] if abusive else []
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
                        add_deliveries(conn, [hook], 1)
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
                        "SELECT created_at, sent_at FROM deliveries WHERE channel_id = :c AND created_at >= :s"
                    ),
                    {"c": hook, "s": since},
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--good", type=int, default=200)
    parser.add_argument("--abusive", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", default=ROOT, help="the checkout to measure (default: this one)")
    args = parser.parse_args(argv)

    alone = measure(args, args.root, abusive=False)
    abused = measure(args, args.root, abusive=True)
    print(
        f"fairness: {args.good} well-behaved monitors every {args.interval} s and one alert a second, alone and "
        f"beside {args.abusive} monitors and 500 deliveries that never answer (timeout {TIMEOUT} s); {args.root}"
    )
    for name, run in (("alone", alone), ("abused", abused)):
        print(f"  {name:7} check lateness  {fmt(run['lateness'])}; slots missed {run['missed']}")
        print(f"  {name:7} alert delay     {fmt(run['delay'])}; not sent {run['unsent']}")
    checks_held = abused["missed"] == 0 and within(abused["lateness"]["p99"] or 0, alone["lateness"]["p99"] or 0)
    alerts_held = abused["unsent"] == 0 and within(abused["delay"]["p99"] or 0, alone["delay"]["p99"] or 0)
    print(
        f"  goal     checks {'held' if checks_held else 'MISSED'}, alerts {'held' if alerts_held else 'MISSED'}: "
        "p99 with the abusive owner within 10 % (or 50 ms) of the run alone, nothing missed"
    )


if __name__ == "__main__":
    main()
