"""Real HTTP targets for checks, started by the tests on 127.0.0.1, and an API client for monitors."""

import asyncio
import datetime
import json
import ssl
import threading
import time

import pytest
from aiohttp import web

from ..conftest import in_app


class TargetServer:
    """An aiohttp server in a thread of its own that records every request it gets.

    /ok, /status/{code}, /slow?ms=, /text?body=, /json, /redirect?to=&n=, /echo, /big,
    /flip (answers ``self.flip_status``, 200 until a test changes it),
    /hook (a webhook receiver: answers the statuses in ``self.hook_answers`` in turn, then 200),
    POST / (as /hook: where ntfy's API takes a message published as JSON).
    """

    def __init__(self, host="127.0.0.1", ssl_context=None):
        self.host, self.ssl_context = host, ssl_context
        self.hits = []
        self.flip_status = 200
        self.hook_answers = []
        self.hook_delay = 0.0  # seconds /hook waits before it answers (deliveries held in flight)
        self.flip_delay = 0.0  # seconds /flip and /m/ wait before they answer (checks, and their claims, held)
        self.slow_now = self.slow_most = 0  # requests to /slow in progress, and the most at once
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)

    @property
    def url(self):
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def hits_on(self, path):
        return [h for h in self.hits if h["path"] == path]

    def start(self):
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def stop(self):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _main(self):
        asyncio.set_event_loop(self.loop)
        app = web.Application(middlewares=[self._record])
        app.router.add_route("*", "/ok", self._ok)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_route("*", "/slow", self._slow)
        app.router.add_get("/text", self._text)
        app.router.add_get("/json", self._json)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_get("/big", self._big)
        app.router.add_get("/flip", self._flip)
        app.router.add_get("/m/{name}", self._flip)
        app.router.add_post("/hook", self._hook)
        app.router.add_post("/", self._hook)
        # a handler whose client went away stops (as a real server would see it), and stopping waits 1 s for
        # the others at most
        self.runner = web.AppRunner(app, shutdown_timeout=1, handler_cancellation=True)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, self.host, 0, ssl_context=self.ssl_context)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    @web.middleware
    async def _record(self, request, handler):
        self.hits.append(
            {
                "path": request.path,
                "method": request.method,
                "at": time.monotonic(),
                "headers": dict(request.headers),
                "body": await request.text(),
            }
        )
        return await handler(request)

    async def _ok(self, request):
        return web.Response(text="all ok")

    async def _status(self, request):
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def _slow(self, request):
        self.slow_now += 1
        self.slow_most = max(self.slow_most, self.slow_now)
        try:
            await asyncio.sleep(int(request.query.get("ms", "1000")) / 1000)
        finally:
            self.slow_now -= 1
        return web.Response(text="slow but ok")

    async def _text(self, request):
        return web.Response(text=request.query.get("body", ""))

    async def _json(self, request):
        return web.json_response({"checks": [{"status": "pass", "ms": 12}], "healthy": True, "version": 3})

    async def _redirect(self, request):
        n = int(request.query.get("n", "1"))
        if n > 1:
            raise web.HTTPFound(f"/redirect?n={n - 1}&to={request.query.get('to', '/ok')}")
        raise web.HTTPFound(request.query.get("to", "/ok"))

    async def _echo(self, request):
        return web.json_response(
            {"method": request.method, "headers": dict(request.headers), "body": await request.text()}
        )

    async def _big(self, request):
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"x" * 65536
        for _ in range(5 * 16):  # 5 MiB
            await response.write(chunk)
        await response.write(b"needle")
        return response

    async def _hook(self, request):
        if self.hook_delay:
            await asyncio.sleep(self.hook_delay)
        return web.Response(status=self.hook_answers.pop(0) if self.hook_answers else 200, text="received")

    async def _flip(self, request):
        if self.flip_delay:
            await asyncio.sleep(self.flip_delay)
        return web.Response(status=self.flip_status, text="flip")


@pytest.fixture
def target():
    server = TargetServer().start()
    yield server
    server.stop()


def certificate_pair(tmp_path, days):
    """A CA file and a server certificate for 127.0.0.1 that expires in ``days`` days: (ca path, SSLContext)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "myapp test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return str(ca_path), context


@pytest.fixture
def owner(make_user, make_key):
    """(user id, headers with a write key, headers with a read key) for a user who owns monitors."""
    user = make_user("ada@example.com")
    return (
        user,
        {"Authorization": f"Bearer {make_key(user, 'write')[1]}"},
        {"Authorization": f"Bearer {make_key(user, 'read')[1]}"},
    )


def new_monitor(client, auth, **fields):
    body = {"name": "a monitor", "interval": 30, **fields}
    return client.post_json("/api/monitors", body, headers=auth, status=201).json


def run_sql(app, statement, **params):
    """Run a statement (SQL text, or a SQLAlchemy statement, whose columns come back typed) in the app."""
    from sqlalchemy import text

    async def execute(session):
        result = await session.execute(text(statement) if isinstance(statement, str) else statement, params)
        return result.all() if getattr(result, "returns_rows", True) else result.rowcount

    return in_app(app, execute)


def as_json(res):
    return json.loads(res.body)
