"""Event loops and database connections held by one 16-thread waitress process under load.

    python -m bench.connections [--seconds 10] [--connections 32]

Serves myapp with production.ini (waitress threads = 16) on 127.0.0.1 against
MariaDB, loads GET /api/health with wrk, then reads what the process reports and
what MariaDB sees.
"""

import argparse
import json
import re

from .common import BENCH_DB, free_port, health_details, mysql, production_app, server, wrk


def connections_on(db):
    with mysql() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s", (db,))
        return cur.fetchone()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)

    port = free_port()
    with production_app(port) as (ini, env):
        with open(ini) as f:
            threads = int(re.search(r"(?m)^threads = (\d+)", f.read()).group(1))
        base = f"http://127.0.0.1:{port}"
        with server(["pserve", ini], base + "/api/health", env=env):
            load = wrk(base + "/api/health", args.connections, args.seconds, threads=2)
            runtime = health_details(base)["runtime"]
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
