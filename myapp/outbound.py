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
HOST_NAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")


class Blocked(OSError):
    """The target is an address the guard refuses (monitors.private_targets = deny)."""


def _addresses(address):
    """An address as typed or resolved (zone index dropped), and the IPv4 address it embeds, if any."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return ip, embedded
    return ip, ip


def blocked_because(address):
    """Why ``address`` may not be a target, or None when it may."""
    ip = _addresses(address)[1]
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


def is_local_name(host):
    """``localhost`` and the names under it (RFC 6761): this machine, whatever a resolver says."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def read_allowed(entries):
    """monitors.allowed_networks, as written (networks, addresses, host names, separated by spaces or
    commas): (networks, names).  ValueError names an entry that is none of these."""
    networks, names = [], set()
    for entry in entries.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        name = entry.lower().rstrip(".")
        if not HOST_NAME.match(name) or is_odd_ipv4(name):
            raise ValueError(f"{entry[:60]!r} is not a network (10.0.0.0/8), an address or a host name")
        names.add(name)
    return tuple(networks), frozenset(names)


class Guard:
    """Which addresses checks and alerts may connect to: all, or only public ones and the private networks
    and hosts an administrator lists (monitors.allowed_networks)."""

    def __init__(self, allow_private, networks=(), names=frozenset()):
        self.allow_private = allow_private
        self.networks = networks
        self.names = names

    def allows(self, address, host=None):
        if host is not None and host.lower().rstrip(".") in self.names:
            return True
        return any(ip in network for ip in set(_addresses(address)) for network in self.networks)

    def check_address(self, address, host=None):
        if self.allow_private or self.allows(address, host):
            return
        reason = blocked_because(address)
        if reason:  # what a name resolves to is not said: the guard must not be a window on the internal DNS
            shown = f"{host} resolves to" if host and host != address else f"{address},"
            raise Blocked(
                f"blocked: {shown} {reason} (monitors.private_targets = deny; "
                "monitors.allowed_networks can let chosen networks and hosts through)"
            )

    def check_host(self, host):
        """A host as typed (a name, or an address with or without brackets), checked before any connection:
        an address the guard refuses, or ``localhost`` when loopback is refused, is Blocked.  Other names are
        checked at every connection (a name may resolve elsewhere tomorrow)."""
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            if is_local_name(host):
                self.check_address("127.0.0.1", host)
            return
        self.check_address(host)

    def check_url(self, url):
        """The checks a URL must pass before a request: http(s), and its host as check_host says."""
        if url.scheme not in ("http", "https") or not url.raw_host:
            raise Blocked(f"only http and https URLs can be checked, not {str(url)[:100]}")
        self.check_host(url.raw_host)


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


def host_name(value):
    """A host name as a check connects to it: an international one in its ASCII form, lower case."""
    try:
        name = value.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("not a host name or IP address") from None
    if len(name) > 253 or not HOST_NAME.match(name):
        raise ValueError("not a host name or IP address")
    if is_odd_ipv4(name):
        raise ValueError("write an IPv4 address as four decimal numbers, as in 192.0.2.10")
    return name


def check_host(value, guard=None):
    """A host name (an international one in its ASCII form) or a literal IP address (IPv6 with or without
    brackets), as a check connects to it; a literal address the guard refuses is an error."""
    value = no_control_characters(value.strip(), "a host")
    literal = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        host = str(ipaddress.ip_address(literal))
    except ValueError:
        host = host_name(value)
    if guard is not None:
        try:
            guard.check_host(host)
        except Blocked as exc:
            raise ValueError(str(exc)) from None
    return host


class OutboundSettings(Section):
    private_targets: Literal["allow", "deny"] = Field("deny", alias="monitors.private_targets")
    allowed_networks: str = Field(
        "", alias="monitors.allowed_networks", description="private networks, addresses and hosts allowed all the same"
    )
    ca_file: Optional = Field(None, alias="monitors.ca_file")
    connections: int = Field(100, alias="monitors.max_concurrency", ge=1, description="per loop")


def includeme(config):
    """Every loop gets ``state.http`` (a guarded ClientSession), ``state.guard`` and ``state.tls``; request
    bodies are validated with the guard (``validation_context["guard"]``)."""
    settings = section(config.registry, OutboundSettings)
    try:
        networks, names = read_allowed(settings.allowed_networks)
    except ValueError as exc:
        raise NotConfigured(f"monitors.allowed_networks: {exc}") from None
    guard = Guard(settings.private_targets == "allow", networks, names)
    try:  # made once, here: loading the system's certificates takes tens of ms, too long on a loop
        tls = tls_context(settings.ca_file)
    except (OSError, ValueError) as exc:
        raise NotConfigured(f"monitors.ca_file cannot be read as certificates: {exc}") from None
    config.registry.outbound = types.SimpleNamespace(guard=guard, tls=tls)
    add_validation_context(config.registry, guard=guard)
    config.add_cleanup_ctx(http_client(guard, settings.connections, tls))
