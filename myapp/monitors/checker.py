"""One check: an HTTP request with aiohttp, timed with the loop's clock, judged by the monitor's rules.

It goes through the loop's guarded ClientSession (myapp.outbound), which checks every address
it connects to.  Redirects are followed here (at most 5), not by aiohttp, so that the guard
sees each hop's URL too.
"""

import asyncio
import dataclasses
import ssl
import time

import aiohttp
from yarl import URL

from ..models.meta import utcnow
from ..outbound import Blocked, peer_certificate
from ..text import one_line
from .rules import Expectations, evaluate
from .state import Result

MAX_BODY = 1024 * 1024
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
DAY = 86400


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
        return cls(
            monitor.url,
            monitor.method,
            monitor.headers,
            monitor.body,
            monitor.timeout,
            monitor.degraded_ms,
            Expectations.of(monitor),
        )


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
    peer_certificate.set(peer)  # this task's own: the connector fills it in
    for _ in range(MAX_REDIRECTS + 1):
        guard.check_url(url)
        peer.clear()
        async with session.request(
            method, url, headers=target.headers or None, data=data, allow_redirects=False
        ) as response:
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
    return isinstance(
        exc, (TimeoutError, aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, ConnectionError)
    )


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
        return f"not a valid HTTP answer: {str(exc.message)[:100]}"
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
        return Result(
            at,
            False,
            None,
            round((loop.time() - started) * 1000),
            one_line(describe(exc, target)),
            network=is_network_failure(exc),
        )
    latency = round((loop.time() - started) * 1000)
    error = evaluate(target.rules, status, body, days)
    if error is not None:
        error = one_line(error)
    slow = error is None and target.degraded_ms is not None and latency > target.degraded_ms
    return Result(at, error is None, status, latency, error, slow)
