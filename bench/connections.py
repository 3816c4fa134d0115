"""Event loops and database connections held by one 16-thread waitress process under load.

    python -m bench.connections [--seconds 10] [--connections 32]

Serves myapp with production.ini (waitress threads = 16) on 127.0.0.1 against
MariaDB, loads GET /api/health with wrk, then reads what the process reports and
what MariaDB sees.
"""

import argparse
import json
import os
import re
import subprocess
import tempfile
import urllib.request

from .common import BENCH_DB, ROOT, free_port, mysql, python, server, wrk


def connections_on(db):
    with mysql() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s", (db,))
        return cur.fetchone()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)

    with mysql() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {BENCH_DB} CHARACTER SET utf8mb4")
    port = free_port()
    with open(os.path.join(ROOT, "production.ini")) as f:
        ini = re.sub(r"(?m)^listen = .*$", f"listen = 127.0.0.1:{port}", f.read())
    threads = int(re.search(r"(?m)^threads = (\d+)", ini).group(1))
    env = {
        "MYAPP_DATABASE_URL": f"mysql+aiomysql://root@127.0.0.1:3306/{BENCH_DB}",
        "MYAPP_SESSION_SECRET": "bench-only-secret-0123456789-0123456789",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".ini", dir=ROOT, prefix=".bench-") as config:
        config.write(ini)
        config.flush()
        subprocess.run(["initialize_myapp_db", config.name], check=True, capture_output=True, env={**os.environ, **env})
        url = f"http://127.0.0.1:{port}/api/health"
        with server(["pserve", config.name], url, env=env):
            load = wrk(url, args.connections, args.seconds, threads=2)
            with urllib.request.urlopen(url) as res:
                runtime = json.load(res)["runtime"]
            seen_by_mariadb = connections_on(BENCH_DB)
    report = {
        "waitress_threads": threads,
        "wrk": load,
        "worker_loops": runtime["worker_loops"],
        "service_loop": runtime["service_loop"],
        "pool_connections_open": runtime["connections_open"],
        "mariadb_connections": seen_by_mariadb,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
