"""DNS: a question (a name and a record type) to the monitor's resolver, or to the operator's; up when there is
an answer holding every expected value, or any answer when none is expected.  dnspython's asyncio resolver
asks; the cause says what came back.

A monitor's own resolver is an address the guard checks, as every address a check reaches.  Without one, the
question goes to ``monitors.dns_resolvers``: the operator's list.  By default that is the system's resolver
where private targets are allowed, and public resolvers where they are denied: the system's resolver
answers for the operator's internal names (``TXT secret.internal``, ``A db.internal``), and a DNS check's
cause says what came back, so it must not be a window on them.
"""

import asyncio
import ipaddress
import types
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Any, Literal, get_args

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from ...models.meta import utcnow
from ...outbound import Blocked, OutboundSettings, check_host
from ...services import find
from ...settings import NotConfigured, Section, Words
from ...text import one_line
from ..state import Result
from .base import CheckKind, Row

RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS"]
RECORD_TYPES: tuple[str, ...] = get_args(RecordType)
Value = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


def parse_resolver(text: str) -> tuple[str, int]:
    """(address, port) of ``192.0.2.53``, ``192.0.2.53:5353``, ``2001:db8::53`` or ``[2001:db8::53]:5353``."""
    host, port_text = text, "53"
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or rest and not rest.startswith(":"):
            raise ValueError("write a resolver as an address, or address:port ([address]:port for IPv6)")
        port_text = rest[1:] or "53"
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    try:
        address = ipaddress.ip_address(host)
        port = int(port_text)
    except ValueError:
        raise ValueError("a resolver is an IP address, with :port when not 53") from None
    if not 1 <= port <= 65535:
        raise ValueError("the port lies within 1-65535")
    return str(address), port


def normalized(record_type: str, value: str) -> str:
    """A value as answers are compared: addresses in their short form, names in lower case without the root's
    dot, MX as "preference name" (or the name alone), TXT as it is."""
    if record_type in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value[:60]!r} is not an IP address") from None
        if address.version != (4 if record_type == "A" else 6):
            raise ValueError(f"{value} is not an IPv{4 if record_type == 'A' else 6} address")
        return str(address)
    if record_type == "TXT":
        return value
    return " ".join(value.lower().rstrip(".").split())


class DnsSettings(BaseModel):
    """The fields of a DNS check (the name asked is ``host``, shared with TCP)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    record_type: RecordType | None = Field(None, description="DNS: " + ", ".join(RECORD_TYPES))
    resolver: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = Field(
        None, description="DNS: the resolver asked, address[:port]; empty for the system's"
    )
    expected: list[Value] | None = Field(
        None, max_length=20, description="DNS: values the answer must hold; empty for any answer"
    )

    @field_validator("resolver")
    @classmethod
    def _resolver(cls, value: Any, info: ValidationInfo) -> Any:
        if not value:
            return None
        address, port = parse_resolver(value)
        check_host(address, (info.context or {}).get("guard"))
        return address if port == 53 else f"[{address}]:{port}" if ":" in address else f"{address}:{port}"

    @field_validator("expected")
    @classmethod
    def _expected(cls, values: Any, info: ValidationInfo) -> Any:
        if not values:
            return None
        record_type = info.data.get("record_type") or "A"
        return list(dict.fromkeys(normalized(record_type, value) for value in values))


#: monitors.dns_resolvers where private targets are denied and the operator names none: public resolvers
PUBLIC_RESOLVERS = ("1.1.1.1", "8.8.8.8", "9.9.9.9")
SYSTEM = "system"


class DnsResolverSettings(Section):
    resolvers: Words | None = Field(
        None,
        alias="monitors.dns_resolvers",
        description=f"address[:port] of each, or {SYSTEM} (/etc/resolv.conf); default: {SYSTEM} where private "
        f"targets are allowed, else {' '.join(PUBLIC_RESOLVERS)}",
    )


def operator_resolver(entries: Iterable[str]) -> dns.asyncresolver.Resolver:
    """The resolver DNS monitors without their own ask: of ``entries`` (monitors.dns_resolvers), or the system's."""
    if list(entries) == [SYSTEM]:
        return dns.asyncresolver.Resolver()  # reads /etc/resolv.conf, once
    resolver = dns.asyncresolver.Resolver(configure=False)
    try:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(*parse_resolver(entry)) for entry in entries]
    except ValueError as exc:
        raise NotConfigured(f"monitors.dns_resolvers: {exc} (or {SYSTEM})") from None
    return resolver


def resolvers(registry: Any) -> Callable[[types.SimpleNamespace], AsyncIterator[None]]:
    """A cleanup context: ``state.dns_resolver``, the operator's resolver (made once, here)."""
    entries = find(registry, DnsResolverSettings).resolvers
    if not entries:
        private = find(registry, OutboundSettings).private_targets == "allow"
        entries = (SYSTEM,) if private else PUBLIC_RESOLVERS
    resolver = operator_resolver(entries)

    async def dns_resolver(state: types.SimpleNamespace) -> AsyncIterator[None]:
        state.dns_resolver = resolver
        yield

    return dns_resolver


def answer_values(record_type: str, answer: Any) -> list[str]:
    """The answer's values as ``normalized`` writes them (an MX record gives "10 mx.example" and "mx.example")."""
    values: list[str] = []
    for rdata in answer:
        if record_type in ("A", "AAAA"):
            values.append(str(ipaddress.ip_address(rdata.address)))
        elif record_type == "TXT":
            values.append(b"".join(rdata.strings).decode("utf-8", "replace"))
        elif record_type == "MX":
            values.append(f"{rdata.preference} {rdata.exchange.to_text().lower().rstrip('.')}")
        else:
            values.append(rdata.target.to_text().lower().rstrip("."))
    return values


def judge(record_type: str, name: str, values: list[str], expected: list[str] | None) -> str | None:
    """None when ``values`` (the answer) hold every ``expected`` one (or, without any, are not empty)."""
    if not values:
        return f"no {record_type} record for {name}"
    have = set(values) | ({v.split(" ", 1)[1] for v in values} if record_type == "MX" else set())
    missing = [v for v in expected or () if v not in have]
    if not missing:
        return None
    return f"{record_type} {name} is {', '.join(values)[:120]}; expected {', '.join(missing)[:80]}"


async def ask(state: types.SimpleNamespace, target: Any) -> list[str]:
    """(the answer's values) to ``target``'s question; raises dnspython's errors, Blocked, TimeoutError."""
    if target.resolver:
        address, port = parse_resolver(target.resolver)
        state.guard.check_address(address)
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [address]
        resolver.port = port
    else:
        resolver = state.dns_resolver
    answer = await resolver.resolve(
        target.host, target.record_type or "A", lifetime=target.timeout, raise_on_no_answer=False, search=False
    )
    return answer_values(target.record_type or "A", answer)


def describe(exc: BaseException, target: Any) -> str:
    if isinstance(exc, (TimeoutError, dns.exception.Timeout)):
        return f"timed out after {target.timeout:g} s"
    if isinstance(exc, Blocked):
        return str(exc)
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return f"{target.host} does not exist (NXDOMAIN)"
    if isinstance(exc, dns.resolver.NoNameservers):
        return "the resolver could not answer (SERVFAIL or refused)"
    if isinstance(exc, dns.resolver.NoResolverConfiguration):
        return "this server has no resolver configured: give one"
    if isinstance(exc, dns.name.NameTooLong):
        return "the name is too long"
    return f"the query failed: {type(exc).__name__}: {str(exc)[:100]}"


class Dns(CheckKind):
    name, title, settings = "dns", "DNS record", DnsSettings
    required, shared = ("host",), ("host",)
    defaults = {"record_type": "A"}

    def target(self, row: Row) -> Any:
        return row  # host, record_type, resolver, expected, timeout, degraded_ms

    def address(self, row: Row) -> str:
        return f"{row.record_type or 'A'} {row.host}" + (f" @{row.resolver}" if row.resolver else "")

    async def check(self, state: types.SimpleNamespace, target: Any) -> Result:
        at = utcnow()
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(target.timeout):
                values = await ask(state, target)
        except Exception as exc:  # dnspython's errors and others it lets through: a cancelled check is cancelled
            latency = round((loop.time() - started) * 1000)
            network = isinstance(exc, (TimeoutError, dns.exception.Timeout, OSError)) and not isinstance(exc, Blocked)
            return Result(at, False, None, latency, one_line(describe(exc, target)), network=network)
        latency = round((loop.time() - started) * 1000)
        error = judge(target.record_type or "A", target.host, values, target.expected)
        if error is not None:
            error = one_line(error)
        slow = error is None and target.degraded_ms is not None and latency > target.degraded_ms
        return Result(at, error is None, None, latency, error, slow)
