"""What Pyramid's per-request class costs, against the class myapp.aio bakes once.

    python -m bench.request_class

The real application (main()) on a temporary SQLite file, called in-process
(no server), with ``aio.bake_request_properties`` on and off, in alternation.
CPU time per request, the median of five runs of each.
"""

import io
import os
import statistics
import sys
import tempfile
import time

from pyramid.paster import get_appsettings

from myapp import main
from myapp.accounts import service
from myapp.accounts.passwords import Passwords
from myapp.models import run_in_session
from myapp.services import find

from .common import ROOT

PATHS = ["/static/site.css", "/api/health", "/api/users/me"]


def environ(path, token):
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }


def cpu_us_per_request(app, path, token, calls):
    def ok(status, headers, exc_info=None):
        assert status.startswith("200"), (path, status)

    for _ in range(100):
        b"".join(app(environ(path, token), ok))
    started = time.process_time()
    for _ in range(calls):
        b"".join(app(environ(path, token), ok))
    return (time.process_time() - started) / calls * 1e6


def make_key(app):
    async def create(session):
        user = await service.create_user(
            session, find(app.registry, Passwords), "bench@example.com", "Bench", "a bench password"
        )
        return (await service.create_api_key(session, user.id, "read"))[1]

    return run_in_session(app.registry, create)


def main_(calls=2000):
    with tempfile.TemporaryDirectory() as tmp:
        settings = {
            **get_appsettings(os.path.join(ROOT, "testing.ini")),
            "aio.debug": "false",
            "sqlalchemy.url": f"sqlite+aiosqlite:///{tmp}/bench.sqlite",
        }
        apps = {
            baked: main({}, **settings, **{"aio.bake_request_properties": str(baked).lower()})
            for baked in (False, True)
        }
        token = make_key(apps[True])
        runs = {(baked, path): [] for baked in apps for path in PATHS}
        for _ in range(5):
            for baked, app in apps.items():
                for path in PATHS:
                    runs[(baked, path)].append(cpu_us_per_request(app, path, token, calls))
        for app in apps.values():
            app.registry.aio_runtime.shutdown()
    print(f"{'path':18} {'class per request':>18} {'baked once':>11} {'saved':>8}")
    for path in PATHS:
        per_request, baked = (statistics.median(runs[(b, path)]) for b in (False, True))
        print(f"{path:18} {per_request:15.0f} us {baked:8.0f} us {per_request - baked:5.0f} us")


if __name__ == "__main__":
    main_()
