"""The shipped server settings: slow clients cannot lock everybody else out."""

import configparser
import os
import socket
import urllib.request

from .conftest import HERE

SERVER_OPTIONS = ("connection_limit", "channel_timeout", "asyncore_use_poll", "cleanup_interval", "backlog")


def production_server_options():
    ini = configparser.RawConfigParser()
    ini.read(os.path.join(HERE, "production.ini"))
    return {k: v for k, v in ini["server:main"].items() if k in SERVER_OPTIONS}


def test_production_limits_are_set():
    options = production_server_options()
    assert int(options["connection_limit"]) >= 500
    assert options["asyncore_use_poll"] == "true"  # select() cannot watch more than 1024 sockets
    assert int(options["channel_timeout"]) <= 60


def test_requests_are_served_while_200_slow_clients_hold_connections(app, testapp, serve):
    url = serve(app, threads=4, **production_server_options())
    port = int(url.rsplit(":", 1)[1])
    slow = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")  # and never finishes
            slow.append(sock)
        with urllib.request.urlopen(url + "/api/health", timeout=5) as res:
            assert res.status == 200
    finally:
        for sock in slow:
            sock.close()
