"""The shipped server settings: slow clients cannot lock everybody else out."""

import configparser
import json
import os
import socket
import urllib.error
import urllib.request

from .conftest import HERE

SERVER_OPTIONS = (
    "connection_limit",
    "channel_timeout",
    "asyncore_use_poll",
    "cleanup_interval",
    "backlog",
    "max_request_body_size",
)


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


def post(url, body, content_type, headers=None):
    """(status, content type, body) of a real POST."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as res:
            return res.status, res.headers.get_content_type(), res.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), exc.read()


def test_the_server_takes_what_the_api_takes_and_refuses_more_in_json(app, testapp, serve, make_user, make_key):
    """The shipped body limit lets a 4 MiB manifest through; past what a route takes, the 413 is the API's."""
    url = serve(app, threads=2, **production_server_options())
    auth = {"Authorization": f"Bearer {make_key(make_user('ada@example.com'), 'write')[1]}"}
    manifest = b"monitors: []\n" + b"#" * (4 * 1024 * 1024 - 100) + b"\n"
    assert post(url + "/api/apply", manifest, "application/yaml", auth)[0] == 200
    for path, size in (("/api/apply", 4 * 1024 * 1024 + 1), ("/api/monitors", 1024 * 1024 + 1)):
        status, content_type, body = post(url + path, b" " * size, "application/json", auth)
        assert (status, content_type) == (413, "application/json"), (path, body[:200])
        assert "larger than" in json.loads(body)["message"]


def test_sigterm_stops_pserve_even_when_sigint_is_ignored(tmp_path, db_url):
    """Started in the background of a shell (or by nohup), a process ignores SIGINT; the graceful stop,
    which ends waitress with a SIGINT of its own, must work all the same."""
    import signal
    import subprocess
    import time

    from .helpers import free_port, wait_for_http

    port = free_port()
    ini = tmp_path / "app.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:myapp\nsqlalchemy.url = {db_url}\nsession.secret = {'s' * 40}\n"
        "myapp.create_schema = true\naio.handle_sigterm = true\naio.shutdown_timeout = 4\n"
        f"monitors.scheduler = false\n\n[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        ["pserve", str(ini)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/health", 30)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(4 + 5)
        assert time.monotonic() - sent < 4 + 5
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert b"Traceback" not in process.stderr.read()
