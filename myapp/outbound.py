"""Outbound HTTP, for every area that reaches out (checks, webhooks): the guard against server-side
request forgery, the resolver and connector it lives in, the per-loop ClientSession, and the check
of a URL a user typed.

Every event loop has its own ClientSession (a myapp.aio cleanup context: ``http_client``).  Its
connector resolves names through the guard, so every address actually connected to is checked,
redirects included; literal IP addresses, which aiohttp never resolves, are checked before each
request (``Guard.check_url``).
"""

import asyncio
import contextvars
import ipaddress
import re
import socket
import ssl
import types
from typing import Literal

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from .settings import Field, NotConfigured, Optional, Section, section
from .validation import add_validation_context, no_control_characters

USER_AGENT = "myapp-monitor/0.1 (+https://github.com/myapp)"


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
    if ip.is_private or ip.version == 6 and ip.is_site_local:  # fec0::/10: deprecated, still routed inside
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
        if reason:  # what a name resolves to is not said: the guard must not be a window on the internal DNS
            shown = f"{host} resolves to" if host and host != address else f"{address},"
            raise Blocked(f"blocked: {shown} {reason} (monitors.private_targets = deny)")

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
peer_certificate = contextvars.ContextVar("peer_certificate", default=None)


class CheckConnector(aiohttp.TCPConnector):
    """A TCPConnector that hands the server's certificate to the check that asked for the connection.

    aiohttp lets go of a connection as soon as a short answer is read, before the
    caller could look at it, so the certificate is taken when the connection is given.
    """

    async def connect(self, req, traces, timeout):
        connection = await super().connect(req, traces, timeout)
        found = peer_certificate.get()
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
        connector = CheckConnector(
            limit=limit, resolver=GuardedResolver(guard), use_dns_cache=False, force_close=True, ssl=tls
        )
    else:
        connector = CheckConnector(limit=limit, resolver=GuardedResolver(guard), ttl_dns_cache=30, ssl=tls)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # one session serves every user's monitors: no cookies kept
        timeout=aiohttp.ClientTimeout(total=None),  # the check's own deadline bounds it
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


async def open_connection(guard, host, port, tls=None):
    """A TCP connection to ``host``:``port`` (a name or a literal address), to an address the guard allows:
    every address the name resolves to is checked, as the HTTP client's resolver does, and they are tried in
    turn.  ``tls``: an SSLContext, for a TLS handshake with the host's name.  (reader, writer), or the
    error of the last address tried (socket.gaierror when the name does not resolve, Blocked)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, address in infos:
        guard.check_address(address[0], host)
    error = OSError(f"{host} has no address")
    for family, _, proto, _, address in infos:
        try:
            return await asyncio.open_connection(
                address[0], address[1], family=family, proto=proto, ssl=tls, server_hostname=host if tls else None
            )
        except OSError as exc:  # ssl.SSLError too: the next address may be another server
            error = exc
    raise error


#: the guard of blocking connections made in a thread that runs with this context (contextvars.copy_context), and
#: a dict where the reason of a refusal is left: (Guard, dict).  For libraries that are not aiohttp (Apprise's
#: services, through requests and urllib3): see guard_blocking_connections
blocking_guard = contextvars.ContextVar("blocking_guard", default=None)


def guard_blocking_connections():
    """Make urllib3 (under requests) connect only where ``blocking_guard`` allows, in a context where it is set:
    the name is resolved here, every address checked, and the connection made to a checked address, so no
    second lookup can answer otherwise.  Installed once per process; elsewhere urllib3 connects as before."""
    from urllib3.util import connection

    original = connection.create_connection
    if getattr(original, "guarded", False):
        return

    def create_connection(address, *args, **kwargs):
        if (guarded := blocking_guard.get()) is None:
            return original(address, *args, **kwargs)
        guard, notes = guarded
        host, port = address
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        try:
            for *_, sockaddr in infos:
                guard.check_address(sockaddr[0], host)
        except Blocked as exc:
            notes["blocked"] = str(exc)
            raise
        error = OSError(f"{host} has no address")
        for *_, sockaddr in infos:
            try:
                return original((sockaddr[0], port), *args, **kwargs)
            except OSError as exc:
                error = exc
        raise error

    create_connection.guarded = True
    connection.create_connection = create_connection


def is_odd_ipv4(host):
    """Whether ``host`` is an IPv4 address in a form other than four decimal numbers (``2130706433``,
    ``0x7f000001``, ``127.1``, ``0177.0.0.1``): the system's resolver reads them as addresses, people
    rarely see one for what it is."""
    try:
        packed = socket.inet_aton(host)
    except (OSError, ValueError):
        return False
    return socket.inet_ntoa(packed) != host


def check_url(value, guard=None):
    """An http(s) URL with a host, as typed (ValueError says what is wrong); a literal address the guard
    refuses is an error.  Host names are checked again at every connection (a name may resolve elsewhere
    tomorrow)."""
    value = no_control_characters(value.strip(), "a URL")
    if " " in value:
        raise ValueError("a URL must not hold spaces")
    try:
        url = URL(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise ValueError("use an http:// or https:// URL")
    if not url.raw_host:
        raise ValueError("the URL needs a host name")
    if is_odd_ipv4(url.raw_host):
        raise ValueError("write an IPv4 address as four decimal numbers, as in 192.0.2.10")
    if guard is not None:
        try:
            guard.check_url(url)
        except Blocked as exc:
            raise ValueError(str(exc)) from None
    return value


HOST_NAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")


def check_host(value, guard=None):
    """A host name (an international one in its ASCII form) or a literal IP address (IPv6 with or without
    brackets), as a check connects to it; a literal address the guard refuses is an error."""
    value = no_control_characters(value.strip(), "a host")
    literal = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        pass
    else:
        if guard is not None:
            try:
                guard.check_address(str(address))
            except Blocked as exc:
                raise ValueError(str(exc)) from None
        return str(address)
    try:
        name = value.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("not a host name or IP address") from None
    if len(name) > 253 or not HOST_NAME.match(name):
        raise ValueError("not a host name or IP address")
    if is_odd_ipv4(name):
        raise ValueError("write an IPv4 address as four decimal numbers, as in 192.0.2.10")
    return name


class OutboundSettings(Section):
    private_targets: Literal["allow", "deny"] = Field("deny", alias="monitors.private_targets")
    ca_file: Optional = Field(None, alias="monitors.ca_file")
    connections: int = Field(100, alias="monitors.max_concurrency", ge=1, description="per loop")


def includeme(config):
    """Every loop gets ``state.http`` (a guarded ClientSession), ``state.guard`` and ``state.tls``; request
    bodies are validated with the guard (``validation_context["guard"]``)."""
    settings = section(config.registry, OutboundSettings)
    guard = Guard(allow_private=settings.private_targets == "allow")
    try:  # made once, here: loading the system's certificates takes tens of ms, too long on a loop
        tls = tls_context(settings.ca_file)
    except (OSError, ValueError) as exc:
        raise NotConfigured(f"monitors.ca_file cannot be read as certificates: {exc}") from None
    config.registry.outbound = types.SimpleNamespace(guard=guard, tls=tls)
    add_validation_context(config.registry, guard=guard)
    config.add_cleanup_ctx(http_client(guard, settings.connections, tls))
