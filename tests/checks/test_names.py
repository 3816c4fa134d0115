"""The system's resolver, as an attacker meets it: here a DNS server on loopback, made the app process's
resolver by a mount namespace.  One owner's names that it never answers slow nobody else's checks; and where
private targets are denied, a DNS monitor does not ask it at all (it answers for the operator's internal
names)."""

import json
import os
import shutil
import threading
import time
import types
import urllib.error
import urllib.request

import pytest
from dnslib import QTYPE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer
from pyramid.paster import get_appsettings

from myapp import main
from myapp.accounts import service
from myapp.accounts.passwords import Passwords
from myapp.models import run_in_session
from myapp.services import find

from ..conftest import HERE, ON_CI, PASSWORD, pserve
from ..helpers import wait_until
from ..monitors.conftest import new_monitor

RESOLVER = "127.0.0.77"  # a loopback address of its own: port 53 there is free


class Internal(BaseResolver):
    """Answers every name with 127.0.0.1, but those that start with "slow": never (until the test ends); and
    secret.internal's TXT record is a password."""

    def __init__(self):
        self.done = threading.Event()
        self.asked = []

    def resolve(self, request, handler):
        name = str(request.q.qname)
        self.asked.append(name)
        if name.startswith("slow"):
            self.done.wait(60)
        reply = request.reply()
        if name == "secret.internal.":
            reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT("db-password=hunter2"), ttl=60))
        else:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("127.0.0.1"), ttl=60))
        return reply


@pytest.fixture
def system_resolver(tmp_path):
    """A command prefix that runs a process with /etc/resolv.conf naming the silent DNS server, and the server."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        if ON_CI:
            pytest.fail("this test needs root and unshare (CI=true: it may not be skipped)")
        pytest.skip("needs root and unshare, for a resolv.conf of its own")
    resolver = Internal()
    server = DNSServer(resolver, address=RESOLVER, port=53, logger=DNSLogger("-request,-reply,-truncated,-error"))
    server.start_thread()
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {RESOLVER}\noptions timeout:30 attempts:5\n")
    prefix = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount --bind "$0" /etc/resolv.conf && exec "$@"',
        str(conf),
    ]
    yield prefix, resolver
    resolver.done.set()
    server.stop()


class Client:
    """Just what new_monitor and the reads below need of a WebTest client, over a real connection."""

    def __init__(self, url):
        self.url = url

    def request(self, method, path, headers, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data, {**headers, "Content-Type": "application/json"}, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as res:
                return types.SimpleNamespace(json=json.load(res))
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from None

    def post_json(self, path, body, headers, status):
        return self.request("POST", path, headers, body)

    def get(self, path, headers):
        return self.request("GET", path, headers)


def app_and_owners(tmp_path, **overrides):
    """Settings of an app on a SQLite file of its own, whose schema is made, with two owners: (settings, their
    API keys' headers)."""
    settings = {
        **get_appsettings(os.path.join(HERE, "testing.ini")),
        "sqlalchemy.url": f"sqlite+aiosqlite:///{tmp_path}/names.sqlite",
        "monitors.scheduler": "true",
        "monitors.min_interval": "1",
        "aio.debug": "false",
        **overrides,
    }
    app = main({}, **settings)
    try:

        async def owners(session):
            keys = []
            for email in ("a@example.com", "b@example.com"):
                user = await service.create_user(session, find(app.registry, Passwords), email, "x", PASSWORD)
                keys.append({"Authorization": f"Bearer {(await service.create_api_key(session, user.id, 'write'))[1]}"})
            return keys

        return settings, run_in_session(app.registry, owners)
    finally:
        app.registry.aio_runtime.shutdown()


TOKEN = "metrics-token-0123456789"


def health(client):
    return client.get("/api/health", {"Authorization": f"Bearer {TOKEN}"}).json.get("scheduler")


def test_names_that_never_resolve_slow_nobody_else(system_resolver, tmp_path, target):
    prefix, resolver = system_resolver
    settings, (a, b) = app_and_owners(tmp_path, **{"outbound.lookup_seconds": "3", "metrics.token": TOKEN})
    log = tmp_path / "pserve.log"
    with pserve(tmp_path, settings, prefix=prefix, log=log) as (url, _):
        client = Client(url)
        for n in range(20):  # owner A's: the resolver never answers their names
            fields = {"kind": "tcp", "host": f"slow-{n}.example", "port": 80, "interval": 5, "timeout": 5}
            new_monitor(client, a, name=f"slow {n}", **fields)
        wait_until(lambda: len([q for q in resolver.asked if q.startswith("slow")]) >= 4)  # A's lookups hang
        port = target.port
        web = new_monitor(client, b, name="web", url=f"http://localhost:{port}/ok", interval=1, timeout=1)
        tcp = new_monitor(client, b, name="tcp", kind="tcp", host="localhost", port=port, interval=1, timeout=1)
        started = time.monotonic()
        wait_until(lambda: time.monotonic() > started + 12, timeout=20)
        for monitor in (web, tcp):
            results = client.get(f"/api/monitors/{monitor['id']}/results?limit=100", headers=b).json["results"]
            # every second or so, not held back (the scheduler's numbers and the server's log say why, if not)
            assert len(results) >= 8, (monitor["name"], len(results), health(client), log.read_text()[-3000:])
            assert all(r["ok"] for r in results), [r["error"] for r in results if not r["ok"]]
            assert max(r["latency_ms"] for r in results) < 1000
        # A's failures are most of what this process checks: a storm, whose checks again (on fresh connections,
        # their lookups hanging as long again) went on beside B's results, not in front of them
        assert health(client)["storms"] >= 1
        slow = client.get("/api/monitors?limit=100", headers=a).json["monitors"]
        assert {m["last_check"]["error"] for m in slow if m["last_check"]} <= {"could not resolve the host"}


def test_where_private_targets_are_denied_dns_monitors_do_not_ask_the_systems_resolver(system_resolver, tmp_path):
    prefix, resolver = system_resolver
    settings, (a, _) = app_and_owners(tmp_path, **{"outbound.private_targets": "deny"})
    with pserve(tmp_path, settings, prefix=prefix) as (url, _):
        client = Client(url)
        fields = {"kind": "dns", "host": "secret.internal", "record_type": "TXT", "interval": 10, "timeout": 2}
        monitor = new_monitor(client, a, name="secret", **fields)
        checked = wait_until(lambda: client.get(f"/api/monitors/{monitor['id']}", headers=a).json["last_check"])
    assert "hunter2" not in str(checked) and not checked["ok"]  # asked the public resolvers: none answers here
    assert "secret.internal." not in resolver.asked
