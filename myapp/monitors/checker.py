"""One check: an HTTP request with aiohttp, timed with the loop's clock, judged by the monitor's rules.

Every event loop has its own ClientSession (a myapp.aio cleanup context).  Its
connector resolves names through the guard against server-side request forgery, so
every address actually connected to is checked, redirects included; literal IP
addresses, which aiohttp never resolves, are checked before each hop.  Redirects are
followed here (at most 5), not by aiohttp, for that reason.
"""

import asyncio
import contextvars
import dataclasses
import ipaddress
import ssl
import time

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from ..models.meta import utcnow
from .rules import Expectations, evaluate
from .state import Result

MAX_BODY = 1024 * 1024
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "myapp-monitor/0.1 (+https://github.com/myapp)"
DAY = 86400


class Blocked(OSError):
    """The target is an address the guard refuses (monitors.private_targets = deny)."""


def blocked_because(address):
    """Why ``address`` may not be a target, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # no zone index
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:  # shared (carrier-grade NAT), documentation, benchmarking ranges
        return "a reserved address"
    return None


class Guard:
    """Which addresses checks may connect to: all, or only public ones."""

    def __init__(self, allow_private):
        self.allow_private = allow_private

    def check_address(self, address, host=None):
        if self.allow_private:
            return
        reason = blocked_because(address)
        if reason:
            shown = f"{host} resolves to {address}" if host and host != address else address
            raise Blocked(f"blocked: {shown}, {reason} (monitors.private_targets = deny)")

    def check_url(self, url):
        """The checks a URL must pass before a request: http(s), and a literal address must be allowed."""
        if url.scheme not in ("http", "https") or not url.raw_host:
            raise Blocked(f"only http and https URLs can be checked, not {str(url)[:100]}")
        host = url.raw_host.strip("[]")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a name: the resolver checks what it resolves to
        self.check_address(host)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing names that resolve to an address the guard does not allow."""

    def __init__(self, guard):
        self.guard = guard
        self.inner = aiohttp.DefaultResolver()

    async def resolve(self, host, port=0, family=0):
        infos = await self.inner.resolve(host, port, family)
        for info in infos:
            self.guard.check_address(info["host"], host)
        return infos

    async def close(self):
        await self.inner.close()


#: where the connector leaves the certificate of the server a check's task connected to
_peer_certificate = contextvars.ContextVar("peer_certificate", default=None)


class CheckConnector(aiohttp.TCPConnector):
    """A TCPConnector that hands the server's certificate to the check that asked for the connection.

    aiohttp lets go of a connection as soon as a short answer is read, before the
    caller could look at it, so the certificate is taken when the connection is given.
    """

    async def connect(self, req, traces, timeout):
        connection = await super().connect(req, traces, timeout)
        found = _peer_certificate.get()
        transport = connection.transport
        if found is not None and transport is not None:
            ssl_object = transport.get_extra_info("ssl_object")
            found["cert"] = ssl_object.getpeercert() if ssl_object is not None else None
        return connection


def tls_context(ca_file=None):
    """The system's trusted certificates, and those of ``ca_file`` too (an internal CA)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def http_client(guard, limit, tls):
    """A cleanup context: ``state.http``, a ClientSession for checks on this loop, and ``state.guard``.

    ``tls`` is the SSLContext (made once per process: ``tls_context``).
    """

    async def client(state):
        state.guard = guard
        state.tls = tls
        state.http = session(guard, tls, limit)
        try:
            yield
        finally:
            await state.http.close()

    return client


def session(guard, tls, limit=100, fresh=False):
    """A ClientSession for checks.  ``fresh``: no pooled connection and no cached DNS answer (a re-check
    that must not reuse what may have broken)."""
    if fresh:
        connector = CheckConnector(limit=limit, resolver=GuardedResolver(guard), use_dns_cache=False,
                                   force_close=True, ssl=tls)
    else:
        connector = CheckConnector(limit=limit, resolver=GuardedResolver(guard), ttl_dns_cache=30, ssl=tls)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # one session serves every user's monitors: no cookies kept
        timeout=aiohttp.ClientTimeout(total=None),  # the check's own deadline bounds it
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


@dataclasses.dataclass(frozen=True)
class Target:
    """What a check needs of a monitor."""

    url: str
    method: str = "GET"
    headers: dict | None = None
    body: str | None = None
    timeout: float = 10
    degraded_ms: int | None = None
    rules: Expectations = Expectations()

    @classmethod
    def of(cls, monitor):
        return cls(monitor.url, monitor.method, monitor.headers, monitor.body, monitor.timeout, monitor.degraded_ms,
                   Expectations.of(monitor))


class TooManyRedirects(Exception):
    pass


def days_left(cert):
    """Whole days until a certificate (as ``getpeercert()`` gives it) expires; None without one."""
    if not cert or "notAfter" not in cert:
        return None
    return int((ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) // DAY)


async def read_capped(response, limit=MAX_BODY):
    chunks, size = [], 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def fetch(session, guard, target):
    """(status, body up to 1 MiB, days left on the certificate) of the final answer, redirects followed."""
    url, method = URL(target.url, encoded=False), target.method
    data = target.body.encode() if target.body is not None and method == "POST" else None
    peer = {}
    _peer_certificate.set(peer)  # this task's own: the connector fills it in
    for _ in range(MAX_REDIRECTS + 1):
        guard.check_url(url)
        peer.clear()
        async with session.request(method, url, headers=target.headers or None, data=data,
                                   allow_redirects=False) as response:
            location = response.headers.get("Location")
            if response.status in REDIRECTS and location:
                url = response.url.join(URL(location))
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, data = "GET", None
                continue
            days = days_left(peer.get("cert"))
            body = b"" if method == "HEAD" or not target.rules.needs_body else await read_capped(response)
            return response.status, body, days
    raise TooManyRedirects()


def is_network_failure(exc):
    """A failure to reach the server at all (timeout, refused, DNS, reset), which the checking side's own
    network may cause: not an answer that was wrong, a certificate, a redirect loop or the guard."""
    if isinstance(exc, (Blocked, TooManyRedirects, aiohttp.ClientSSLError, aiohttp.InvalidURL)):
        return False
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return not isinstance(exc.os_error, Blocked)
    return isinstance(exc, (TimeoutError, aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError,
                            ConnectionError))


def describe(exc, target):
    """A short reason a person understands, for an exception raised by a check."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {target.timeout:g} s"
    if isinstance(exc, Blocked):
        return str(exc)
    if isinstance(exc, TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not valid: {exc.certificate_error.verify_message or exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS error: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        if isinstance(exc.os_error, Blocked):
            return str(exc.os_error)
        return f"could not resolve {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"could not connect: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut off"
    if isinstance(exc, (aiohttp.InvalidURL, ValueError)):
        return f"not a valid URL: {exc}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"not a valid HTTP answer: {exc.message}"
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return f"request failed: {type(exc).__name__}: {exc}"
    raise exc


async def check(session, guard, target):
    """Run one check of ``target``: a Result, with the error in words when it fails.  Never raises for the target."""
    loop = asyncio.get_running_loop()
    at = utcnow()
    started = loop.time()
    try:
        async with asyncio.timeout(target.timeout):
            status, body, days = await fetch(session, guard, target)
    except Exception as exc:  # CancelledError is not an Exception: a cancelled check is cancelled
        return Result(at, False, None, round((loop.time() - started) * 1000), describe(exc, target)[:300],
                      network=is_network_failure(exc))
    latency = round((loop.time() - started) * 1000)
    error = evaluate(target.rules, status, body, days)
    slow = error is None and target.degraded_ms is not None and latency > target.degraded_ms
    return Result(at, error is None, status, latency, error, slow)
