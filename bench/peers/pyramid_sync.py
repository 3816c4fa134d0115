"""Peer: plain Pyramid sync views with PyMySQL, one connection per waitress thread.

python -m bench.peers.pyramid_sync PORT
"""

import sys
import threading

import pymysql
import waitress
from pyramid.config import Configurator

from ..queries import DB, FANOUT, FANOUT_SQL, PK_SQL, THREADS, row

local = threading.local()


def connection():
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = pymysql.connect(**DB, autocommit=True)
    return conn


def query(sql, args=None):
    with connection().cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def pk(request):
    return row(query(PK_SQL, (int(request.matchdict["id"]),))[0])


def fanout(request):
    results = [query(FANOUT_SQL) for _ in range(FANOUT)]  # one after another: a sync view can only wait
    return {"queries": len(results)}


def make_app():
    with Configurator() as config:
        config.add_route("pk", "/pk/{id}")
        config.add_route("fanout", "/fanout")
        config.add_view(pk, route_name="pk", renderer="json")
        config.add_view(fanout, route_name="fanout", renderer="json")
    return config.make_wsgi_app()


if __name__ == "__main__":
    waitress.serve(make_app(), host="127.0.0.1", port=int(sys.argv[1]), threads=THREADS, _quiet=True)
