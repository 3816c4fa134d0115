"""The work every server in the benchmark does, and the database it does it on."""

import os

DB = {
    "host": os.environ.get("BENCH_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("BENCH_MYSQL_PORT", "3306")),
    "user": os.environ.get("BENCH_MYSQL_USER", "root"),
    "password": os.environ.get("BENCH_MYSQL_PASSWORD", ""),
    "db": os.environ.get("BENCH_DATABASE", "myapp_bench"),
}


def sa_url(driver="aiomysql"):
    return f"mysql+{driver}://{{user}}:{{password}}@{{host}}:{{port}}/{{db}}".format(**DB)


ROWS = 10_000
PK_SQL = "SELECT id, name, value FROM bench_items WHERE id = %s"
FANOUT_SQL = "SELECT SLEEP(0.02)"
FANOUT = 5  # independent queries per fan-out request
THREADS = int(os.environ.get("BENCH_THREADS", "16"))  # waitress threads for every WSGI server
POOL = THREADS * FANOUT  # connections each server may hold: the same total for all


def row(record):
    return {"id": record[0], "name": record[1], "value": record[2]}
