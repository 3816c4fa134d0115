"""Outbound HTTP, for every area that reaches out (checks, webhooks): the guard against server-side
request forgery, the resolver and connector it lives in, the per-loop ClientSession, and the check
of a URL a user typed.

Every event loop has its own ClientSession (a myapp.aio cleanup context: ``http_client``).  Its
connector resolves names through the guard, so every address actually connected to is checked,
redirects included; literal IP addresses, which aiohttp never resolves, are checked before each
request (``Guard.check_url``).

Names are looked up by c-ares (aiodns), on the loop: no thread a lookup, so a name whose server never
answers holds nothing but its own slot.  ``/etc/hosts`` is read first, then the system's resolvers (or
``outbound.name_servers``); a lookup ends within ``outbound.lookup_seconds``, and one owner (``owner``,
set by whoever works for one: a check, a delivery) has at most ``outbound.lookups_per_owner`` at once.
"""

import asyncio
import contextvars
import functools
import ipaddress
import re
import socket
import ssl
import threading
import types
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Literal

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from .services import find
from .settings import Field, NotConfigured, OptionalText, Section, Words
from .validation import add_validation_context, no_control_characters

USER_AGENT = "myapp-monitor/0.1 (+https://github.com/myapp)"
HOST_NAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$")


class Blocked(OSError):
    """The target is an address the guard refuses (outbound.private_targets = deny)."""


IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: aiohttp's ResolveResult, a dict: host, port, family, ...
Resolved = Any


def _addresses(address: str) -> tuple[IP, IP]:
    """An address as typed or resolved (zone index dropped), and the IPv4 address it embeds, if any."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return ip, embedded
    return ip, ip


def blocked_because(address: str) -> str | None:
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


def is_local_name(host: str) -> bool:
    """``localhost`` and the names under it (RFC 6761): this machine, whatever a resolver says."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def read_allowed(entries: str) -> tuple[tuple[Network, ...], frozenset[str]]:
    """outbound.allowed_networks, as written (networks, addresses, host names, separated by spaces or
    commas): (networks, names).  ValueError names an entry that is none of these."""
    networks: list[Network] = []
    names: set[str] = set()
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
    and hosts an administrator lists (outbound.allowed_networks)."""

    def __init__(
        self, allow_private: bool, networks: tuple[Network, ...] = (), names: frozenset[str] = frozenset()
    ) -> None:
        self.allow_private = allow_private
        self.networks = networks
        self.names = names

    def allows(self, address: str, host: str | None = None) -> bool:
        if host is not None and host.lower().rstrip(".") in self.names:
            return True
        return any(ip in network for ip in set(_addresses(address)) for network in self.networks)

    def check_address(self, address: str, host: str | None = None) -> None:
        if self.allow_private or self.allows(address, host):
            return
        reason = blocked_because(address)
        if reason:  # what a name resolves to is not said: the guard must not be a window on the internal DNS
            shown = f"{host} resolves to" if host and host != address else f"{address},"
            raise Blocked(
                f"blocked: {shown} {reason} (outbound.private_targets = deny; "
                "outbound.allowed_networks can let chosen networks and hosts through)"
            )

    def check_host(self, host: str) -> None:
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

    def check_url(self, url: URL) -> None:
        """The checks a URL must pass before a request: http(s), and its host as check_host says."""
        if url.scheme not in ("http", "https") or not url.raw_host:
            raise Blocked(f"only http and https URLs can be checked, not {str(url)[:100]}")
        self.check_host(url.raw_host)


#: whose check or delivery the current task works for (a user id): its name lookups count against its share
owner: contextvars.ContextVar[int | None] = contextvars.ContextVar("outbound_owner", default=None)


class Names:
    """Name lookups of one loop: c-ares through aiohttp's AsyncResolver (made at the first lookup), each
    within ``seconds``, at most ``per_owner`` of one owner's at once (``owner``); the others wait for their
    owner's slot, nobody else's.  socket.gaierror when a name cannot be resolved, in time or at all."""

    def __init__(self, servers: Iterable[str] = (), seconds: float = 5.0, per_owner: int = 4) -> None:
        self.servers, self.seconds, self.per_owner = list(servers), seconds, per_owner
        self.resolver: aiohttp.AsyncResolver | None = None
        self.shares: dict[int | None, list[Any]] = {}  # owner: [asyncio.Semaphore, lookups of it running or waiting]

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> list[Resolved]:
        """aiohttp's ResolveResult dicts of ``host`` (a name or a literal address)."""
        key = owner.get()
        share = self.shares.get(key) or self.shares.setdefault(key, [asyncio.Semaphore(self.per_owner), 0])
        share[1] += 1
        try:
            async with asyncio.timeout(self.seconds), share[0]:
                if self.resolver is None:
                    self.resolver = aiohttp.AsyncResolver(
                        nameservers=self.servers or None, timeout=self.seconds, tries=1
                    )
                return await self.resolver.resolve(host, port, socket.AddressFamily(family))
        except TimeoutError:
            raise socket.gaierror(socket.EAI_AGAIN, f"no answer for {host} within {self.seconds:g} s") from None
        except OSError as exc:
            if isinstance(exc, socket.gaierror):
                raise
            raise socket.gaierror(socket.EAI_NONAME, exc.strerror or str(exc)) from exc
        finally:
            share[1] -= 1
            if not share[1]:
                del self.shares[key]

    async def close(self) -> None:
        if self.resolver is not None:
            await self.resolver.close()


class GuardedResolver(AbstractResolver):
    """A resolver for aiohttp's connector: the loop's Names, refusing names that resolve to an address the
    guard does not allow."""

    def __init__(self, guard: Guard, names: Names) -> None:
        self.guard = guard
        self.names = names

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[Resolved]:
        infos = await self.names.resolve(host, port, family)
        for info in infos:
            self.guard.check_address(info["host"], host)
        return infos

    async def close(self) -> None:
        pass  # the Names are the loop's: closed with it (http_client)


#: where the connector leaves the certificate of the server a check's task connected to
peer_certificate: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "peer_certificate", default=None
)


class CheckConnector(aiohttp.TCPConnector):
    """A TCPConnector that hands the server's certificate to the check that asked for the connection.

    aiohttp lets go of a connection as soon as a short answer is read, before the
    caller could look at it, so the certificate is taken when the connection is given.
    """

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        connection = await super().connect(req, traces, timeout)
        found = peer_certificate.get()
        transport = connection.transport
        if found is not None and transport is not None:
            ssl_object = transport.get_extra_info("ssl_object")
            found["cert"] = ssl_object.getpeercert() if ssl_object is not None else None
        return connection


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The system's trusted certificates, and those of ``ca_file`` too (an internal CA)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def http_client(
    guard: Guard, limit: int, tls: ssl.SSLContext, names: Callable[[], Names]
) -> Callable[[types.SimpleNamespace], AsyncIterator[None]]:
    """A cleanup context: ``state.http``, a ClientSession for checks on this loop, ``state.guard`` and
    ``state.names`` (the loop's Names, made by ``names()``).

    ``tls`` is the SSLContext (made once per process: ``tls_context``).
    """

    async def client(state: types.SimpleNamespace) -> AsyncIterator[None]:
        state.guard = guard
        state.tls = tls
        state.names = names()
        state.http = session(guard, tls, state.names, limit)
        try:
            yield
        finally:
            await state.http.close()
            await state.names.close()

    return client


def session(
    guard: Guard, tls: ssl.SSLContext, names: Names, limit: int = 100, fresh: bool = False
) -> aiohttp.ClientSession:
    """A ClientSession for checks.  ``fresh``: no pooled connection and no cached DNS answer (a re-check
    that must not reuse what may have broken)."""
    resolver = GuardedResolver(guard, names)
    if fresh:
        connector = CheckConnector(limit=limit, resolver=resolver, use_dns_cache=False, force_close=True, ssl=tls)
    else:
        connector = CheckConnector(limit=limit, resolver=resolver, ttl_dns_cache=30, ssl=tls)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # one session serves every user's monitors: no cookies kept
        timeout=aiohttp.ClientTimeout(total=None),  # the check's own deadline bounds it
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


async def open_connection(
    state: types.SimpleNamespace, host: str, port: int, tls: ssl.SSLContext | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to ``host``:``port`` (a name or a literal address), to an address the guard allows:
    every address the name resolves to (``state.names``) is checked, as the HTTP client's resolver does, and
    they are tried in turn.  ``tls``: an SSLContext, for a TLS handshake with the host's name.  (reader,
    writer), or the error of the last address tried (socket.gaierror when the name does not resolve,
    Blocked)."""
    try:
        infos: list[Resolved] = [{"host": str(ipaddress.ip_address(host.split("%", 1)[0])), "port": port, "family": 0}]
    except ValueError:
        infos = await state.names.resolve(host, port)
    for info in infos:
        state.guard.check_address(info["host"], host)
    error: OSError = OSError(f"{host} has no address")
    for info in infos:
        try:
            return await asyncio.open_connection(
                info["host"], info["port"], ssl=tls, server_hostname=host if tls else None
            )
        except OSError as exc:  # ssl.SSLError too: the next address may be another server
            error = exc
    raise error


class BlockingSend:
    """What a blocking send (a library that is not aiohttp: Apprise's services, through requests and urllib3)
    connects through, in a thread that runs with ``blocking_send`` set to it: the guard; the loop's Names,
    asked on the loop (so a lookup ends in time, within its owner's share, and holds no thread); and the
    sockets it opened, shut down by ``cut_off`` (its deadline: whatever the peer does, a blocked read
    ends at once, and the thread is free again).  ``blocked``: why the guard refused a connection, if it did."""

    def __init__(self, guard: Guard, names: Names, loop: asyncio.AbstractEventLoop, owner_id: int | None) -> None:
        self.guard, self.names, self.loop, self.owner_id = guard, names, loop, owner_id
        self.blocked: str | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.cut = False

    def resolve(self, host: str, port: int) -> list[Resolved]:
        """From the sending thread: ``host``'s addresses, looked up on the loop."""

        async def lookup() -> list[Resolved]:
            owner.set(self.owner_id)
            return await self.names.resolve(host, port)

        try:
            future = asyncio.run_coroutine_threadsafe(lookup(), self.loop)
        except RuntimeError:  # the loop is closed: the process stops
            raise OSError(f"cannot look up {host} now") from None
        try:
            return future.result(self.names.seconds + 1)
        except TimeoutError:
            future.cancel()
            raise socket.gaierror(socket.EAI_AGAIN, f"no answer for {host} in time") from None

    def opened(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)
            if self.cut:
                _shut(sock)

    def cut_off(self) -> None:
        """End the send now: its sockets are shut down (a thread blocked on one returns at once)."""
        with self.lock:
            self.cut = True
            for sock in self.sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


#: the BlockingSend of the connections made in a thread that runs with this context (contextvars.copy_context)
blocking_send: contextvars.ContextVar[BlockingSend | None] = contextvars.ContextVar("blocking_send", default=None)


def guard_blocking_connections() -> None:
    """Make urllib3 (under requests) connect only as ``blocking_send`` allows, in a context where it is set:
    the name is resolved by the loop's Names, every address checked, and the connection made to a checked
    address, so no second lookup can answer otherwise; the socket is the send's, to be cut off at its
    deadline.  Installed once per process; elsewhere urllib3 connects as before."""
    from urllib3.util import connection

    original = connection.create_connection
    if getattr(original, "guarded", False):
        return

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if (send := blocking_send.get()) is None:
            return original(address, *args, **kwargs)
        host, port = address
        host = host.strip("[]")
        try:
            literal = socket.inet_ntoa(socket.inet_aton(host)) if is_odd_ipv4(host) else host.split("%", 1)[0]
            hosts = [str(ipaddress.ip_address(literal))]
        except ValueError:
            hosts = [info["host"] for info in send.resolve(host, port)]
        try:
            for found in hosts:
                send.guard.check_address(found, host)
        except Blocked as exc:
            send.blocked = str(exc)
            raise
        error: OSError = OSError(f"{host} has no address")
        for found in hosts:
            if send.cut:
                raise OSError("the send's time is up")
            try:
                sock = original((found, port), *args, **kwargs)
            except OSError as exc:
                error = exc
                continue
            send.opened(sock)
            return sock
        raise error

    create_connection.guarded = True  # type: ignore[attr-defined]
    connection.create_connection = create_connection


def is_odd_ipv4(host: str) -> bool:
    """Whether ``host`` is an IPv4 address in a form other than four decimal numbers (``2130706433``,
    ``0x7f000001``, ``127.1``, ``0177.0.0.1``): the system's resolver reads them as addresses, people
    rarely see one for what it is."""
    try:
        packed = socket.inet_aton(host)
    except (OSError, ValueError):
        return False
    return socket.inet_ntoa(packed) != host


def check_url(value: str, guard: Guard | None = None) -> str:
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


def host_name(value: str) -> str:
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


def check_host(value: str, guard: Guard | None = None) -> str:
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
    private_targets: Literal["allow", "deny"] = Field("deny", alias="outbound.private_targets")
    name_servers: Words = Field(
        (), alias="outbound.name_servers", description="address[:port] of each; none: those of /etc/resolv.conf"
    )
    lookup_seconds: float = Field(5, alias="outbound.lookup_seconds", gt=0, le=60, description="one name lookup")
    lookups_per_owner: int = Field(
        4, alias="outbound.lookups_per_owner", ge=1, description="one owner's name lookups at once, per process"
    )
    allowed_networks: str = Field(
        "", alias="outbound.allowed_networks", description="private networks, addresses and hosts allowed all the same"
    )
    ca_file: OptionalText = Field(None, alias="outbound.ca_file")
    connections: int = Field(
        100, alias="outbound.connections_per_loop", ge=1, description="open HTTP connections of each loop, at most"
    )


def includeme(config: Any) -> None:
    """Every loop gets ``state.http`` (a guarded ClientSession), ``state.guard`` and ``state.tls``; request
    bodies are validated with the guard (``validation_context["guard"]``)."""
    settings = find(config.registry, OutboundSettings)
    try:
        networks, allowed = read_allowed(settings.allowed_networks)
    except ValueError as exc:
        raise NotConfigured(f"outbound.allowed_networks: {exc}") from None
    guard = Guard(settings.private_targets == "allow", networks, allowed)
    try:  # made once, here: loading the system's certificates takes tens of ms, too long on a loop
        tls = tls_context(settings.ca_file)
    except (OSError, ValueError) as exc:
        raise NotConfigured(f"outbound.ca_file cannot be read as certificates: {exc}") from None
    servers = [read_server(entry, "outbound.name_servers") for entry in settings.name_servers]
    add_validation_context(config.registry, guard=guard)
    names = functools.partial(Names, servers, settings.lookup_seconds, settings.lookups_per_owner)
    config.add_cleanup_ctx(http_client(guard, settings.connections, tls, names))


def read_server(entry: str, setting: str) -> str:
    """A name server as c-ares takes it (``192.0.2.53``, ``192.0.2.53:5353``, ``[2001:db8::53]:5353``)."""
    host, port = entry, None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    try:
        address = ipaddress.ip_address(host)
        if port is not None and not 1 <= int(port) <= 65535:
            raise ValueError
    except ValueError:
        raise NotConfigured(f"{setting}: {entry[:60]!r} is not an address, or address:port") from None
    if port is None:
        return str(address)
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
