"""Instructions per request, counted by valgrind: a measure that does not move with the machine's load.

    python -m bench.instructions [--requests 40] [--before TREE]

On a shared 2-core VM, requests/s and CPU time per request move by 10-30 % from one run to
the next; the instructions a request executes move by about 1 %.  Each app runs alone in one
process under callgrind, its requests called through WSGI on a worker thread (as waitress
calls them); a marker (``os.getppid``, before which callgrind is told to dump its counts)
separates start-up and warm-up from each endpoint's batch.  Counted: everything the process
runs in user space, all its threads.  Not counted: the kernel (system calls), waiting, cache
misses; so a round trip to the database saved shows here as the Python it no longer runs, and
in full only under load (``python -m bench.real_paths``).

What is counted: myapp's real API (GET /api/users/me with an API key, a page of 50 monitors,
POST /api/monitors) against the same endpoints in sync Pyramid + the sync SQLAlchemy ORM +
PyMySQL (bench/peers/pyramid_sync_app.py), on aiomysql and on asyncmy; and the minimal primary-key view of ``python -m
bench`` (bench/myapp_app.py: raw aiomysql, raw asyncmy, SQLAlchemy Core) against sync Pyramid +
PyMySQL (bench/peers/pyramid_sync.py).  With ``--before TREE`` (another checkout, e.g. ``git
worktree add /tmp/before HEAD~3``) myapp's own endpoints are counted for that tree too.
Needs valgrind (apt-get install valgrind).
"""

import argparse
import concurrent.futures
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading

from .common import BENCH_DB, ROOT, free_port, mysql, production_app, script, server
from .real_paths import NEW_MONITOR, seed, write_key

SETTINGS = {
    "auth.argon2_time_cost": "1",
    "auth.argon2_memory_kib": "8192",
    "monitors.scheduler": "false",
    "monitors.max_per_user": "0",
    "alerts.outbox": "false",
}
REAL = [
    ("GET /api/users/me", "GET", "/api/users/me"),
    ("GET /api/monitors (50)", "GET", "/api/monitors?limit=50"),
    ("POST /api/monitors", "POST", "/api/monitors"),
]
PK = [("primary key", "GET", "/pk/4242")]
#: (name, what the runner builds, endpoints, the peer it is compared with)
APPS = [
    ("myapp", "myapp", REAL, "sync peer"),
    ("myapp on asyncmy", "myapp asyncmy", REAL, "sync peer"),
    ("sync peer", "peer", REAL, None),
    ("myapp raw aiomysql", "pk raw aiomysql", PK, "sync Pyramid"),
    ("myapp raw asyncmy", "pk raw asyncmy", PK, "sync Pyramid"),
    ("myapp SQLAlchemy Core", "pk sa aiomysql", PK, "sync Pyramid"),
    ("sync Pyramid", "pk sync", PK, None),
]
MARK = "getppid"  # a libc call nothing else in these processes makes


def build(what, ini):
    """The WSGI app of ``what`` (an APPS entry's second field)."""
    if what.startswith("myapp"):
        from pyramid.paster import get_app

        if what == "myapp asyncmy":
            os.environ["MYAPP_DATABASE_URL"] = os.environ["MYAPP_DATABASE_URL"].replace("+aiomysql:", "+asyncmy:")
        return get_app(ini)
    if what == "peer":
        from .peers.pyramid_sync_app import make_app

        return make_app(f"mysql+pymysql://root@127.0.0.1:3306/{BENCH_DB}")
    if what == "pk sync":
        from .peers.pyramid_sync import make_app

        return make_app()
    from .myapp_app import make_app

    _, variant, driver = what.split()
    return make_app(variant, driver)


def call(app, method, path, token):
    from webob import Request

    request = Request.blank(
        path,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Host": "localhost"},
        environ={"REMOTE_ADDR": "127.0.0.1"},
    )
    if method == "POST":
        request.body, request.content_type = NEW_MONITOR.encode(), "application/json"
    statuses = []
    body = app(request.environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    if statuses[0][0] not in "23":
        raise RuntimeError(f"{method} {path} answered {statuses[0]}")


def run(what, ini, token, requests, tree=None):
    """In the process under callgrind: warm-up, marker, the batch, marker, for each endpoint."""
    if tree:  # myapp from that checkout (nothing of myapp is imported yet)
        sys.path.insert(0, tree)
    app = build(what, ini)
    endpoints = dict((entry[1], entry[2]) for entry in APPS)[what]

    failed = []

    def measure():
        for endpoint, method, path in endpoints:
            try:
                for _ in range(10):
                    call(app, method, path, token)
                os.getppid()
                for _ in range(requests):
                    call(app, method, path, token)
                os.getppid()
            except Exception as exc:  # the endpoints after it are not counted either: say which, and why
                failed.append(f"{endpoint}: {type(exc).__name__}: {exc}")
                return

    worker = threading.Thread(target=measure)  # as waitress calls views: not on the main thread
    worker.start()
    worker.join()
    if failed:
        sys.exit(f"not counted from {failed[0]}")


def count(what, ini, token, requests, env, tree=None):
    """Instructions per request of each endpoint of ``what``, from callgrind's dumps."""
    with tempfile.TemporaryDirectory() as out:
        argv = [
            "valgrind",
            "--tool=callgrind",
            f"--dump-before={MARK}",
            f"--callgrind-out-file={out}/cg.%p",
            sys.executable,
            "-m",
            "bench.instructions",
            "--run",
            what,
            "--ini",
            ini,
            "--token",
            token,
            "--requests",
            str(requests),
            *(["--tree", tree] if tree else []),
        ]
        done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
        why = next((line for line in done.stderr.splitlines() if line.startswith("not counted from ")), None)
        if done.returncode != 0 and why is None:
            raise RuntimeError(f"{what} failed under valgrind: {done.stderr[-3000:]}")
        dumps = sorted(glob.glob(f"{out}/cg.*.*"), key=lambda name: int(name.rsplit(".", 1)[1]))
        totals = []
        for name in dumps:
            with open(name) as f:
                totals.append(next(int(line.split()[1]) for line in f if line.startswith("summary:")))
    # numbered dumps: start-up with the first warm-up, the first batch, the next warm-up, its batch, ...
    # (an endpoint that failed, and those after it, left none): [per request], and why the rest are missing
    return [total / requests for total in totals[1::2]], why


def copy_for(tree, ini, env):
    """The environment of ``tree`` (another checkout), on a database of its own migrated by its own code
    (its schema may be older than this one's) and holding the same rows: the columns both have."""
    database = f"{BENCH_DB}_before"
    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {database}")
        cur.execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    env = {**env, "MYAPP_DATABASE_URL": env["MYAPP_DATABASE_URL"].rsplit("/", 1)[0] + "/" + database}
    script(tree, {**env, "PYTHONPATH": tree}, "initialize_db", ini)
    with mysql() as conn, conn.cursor() as cur:
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database,))
        for (table,) in cur.fetchall():
            if table == "alembic_version":
                continue
            cur.execute(
                "SELECT a.column_name FROM information_schema.columns a JOIN information_schema.columns b "
                "ON b.table_schema = %s AND b.table_name = a.table_name AND b.column_name = a.column_name "
                "WHERE a.table_schema = %s AND a.table_name = %s",
                (BENCH_DB, database, table),
            )
            columns = ", ".join(f"`{c}`" for (c,) in cur.fetchall())
            cur.execute(f"INSERT INTO {database}.`{table}` ({columns}) SELECT {columns} FROM {BENCH_DB}.`{table}`")
    return env


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40, help="requests counted per endpoint")
    parser.add_argument("--before", help="another checkout of myapp: its endpoints are counted too")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--ini", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        return run(args.run, args.ini, args.token, args.requests, args.tree)
    if not shutil.which("valgrind"):
        parser.error("valgrind is not installed: apt-get install valgrind")
    from .__main__ import prepare_database

    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    port = free_port()
    with production_app(port, **SETTINGS) as (ini, env):
        base = f"http://127.0.0.1:{port}"
        with server(["pserve", ini], base + "/api/health", env=env):
            token = write_key(base, env, ini)
            seed(base, token)
        prepare_database()
        trees = [("", None)] + ([(" (before)", os.path.abspath(args.before))] if args.before else [])
        envs = {None: env}
        if args.before:
            envs[trees[1][1]] = copy_for(trees[1][1], ini, env)
        jobs = {
            name + label: (what, endpoints, tree)
            for name, what, endpoints, _ in APPS
            for label, tree in (trees if what == "myapp" else trees[:1])
        }

        def counted(job):
            what, endpoints, tree = jobs[job]
            per_request, why = count(what, ini, token, args.requests, envs[tree], tree)
            print(f"  counted {job}" + (f"; {why}" if why else ""), file=sys.stderr)
            return dict(zip((e[0] for e in endpoints), per_request))

        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # one valgrind a core
            counts = dict(zip(jobs, pool.map(counted, jobs)))
    print(f"{'endpoint':26} {'app':24} {'instructions':>13} {'vs peer':>8}   (the peer's count / this one's)")
    for name, _, endpoints, peer in APPS:
        for label, _ in trees if name == "myapp" else trees[:1]:
            for endpoint, _, _ in endpoints:
                ours, theirs = counts[name + label].get(endpoint), counts.get(peer, {}).get(endpoint)
                if ours is None:
                    print(f"{endpoint:26} {name + label:24} {'not counted':>13}   (why: above)")
                    continue
                versus = f"{theirs / ours:7.2f}x" if theirs else ("not counted" if peer else "")
                print(f"{endpoint:26} {name + label:24} {ours / 1000:12,.0f}k {versus:>8}")


if __name__ == "__main__":
    main()
