"""HTTP(S): a request to a URL with aiohttp, timed with the loop's clock, whose answer must meet the monitor's
rules (status, keyword, JSON value, certificate: rules.py).

The request goes through the loop's guarded ClientSession (myapp.outbound), which checks every address it
connects to.  Redirects are followed here (at most 5), not by aiohttp, so that the guard sees each hop's URL too.
"""

import asyncio
import dataclasses
import re
import types
from typing import Annotated, Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from yarl import URL

from ...models.meta import utcnow
from ...models.monitor import Method
from ...outbound import Blocked, Guard, check_url, peer_certificate
from ...text import one_line
from ...validation import no_control_characters
from ..rules import Expectations, days_left, evaluate, json_path_steps, normalize_status_spec
from ..state import Result
from .base import CheckKind, Row

MAX_BODY = 64 * 1024  # of a request
MAX_ANSWER = 1024 * 1024  # read of an answer
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


@dataclasses.dataclass(frozen=True)
class Target:
    """What a check needs of a monitor."""

    url: str
    method: str = "GET"
    headers: dict[str, str] | None = None
    body: str | None = None
    timeout: float = 10
    degraded_ms: int | None = None
    rules: Expectations = Expectations()

    @classmethod
    def of(cls, monitor: Any) -> "Target":
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


async def read_capped(response: aiohttp.ClientResponse, limit: int = MAX_ANSWER) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def fetch(session: aiohttp.ClientSession, guard: Guard, target: Target) -> tuple[int, bytes, int | None]:
    """(status, body up to 1 MiB, days left on the certificate) of the final answer, redirects followed."""
    url, method = URL(target.url, encoded=False), target.method
    data = target.body.encode() if target.body is not None and method == "POST" else None
    peer: dict[str, Any] = {}
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


def is_network_failure(exc: Exception) -> bool:
    """A failure to reach the server at all (timeout, refused, DNS, reset), which the checking side's own
    network may cause: not an answer that was wrong, a certificate, a redirect loop or the guard."""
    if isinstance(exc, (Blocked, TooManyRedirects, aiohttp.ClientSSLError, aiohttp.InvalidURL)):
        return False
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return not isinstance(exc.os_error, Blocked)
    return isinstance(
        exc, (TimeoutError, aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, ConnectionError)
    )


def describe(exc: Exception, target: Target) -> str:
    """A short reason a person understands, for an exception raised by a check."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {target.timeout:g} s"
    if isinstance(exc, Blocked):
        return str(exc)
    if isinstance(exc, TooManyRedirects):
        return f"more than {MAX_REDIRECTS} redirects"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        why = exc.certificate_error
        return f"TLS certificate not valid: {getattr(why, 'verify_message', None) or why}"
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


async def check(session: aiohttp.ClientSession, guard: Guard, target: Target) -> Result:
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


HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
#: headers the HTTP client sets itself from the request, hop-by-hop headers, and those that would make a
#: check claim to come through a proxy or from another client (a target may trust them)
FORBIDDEN_HEADERS = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "forwarded",
    "via",
    "x-real-ip",
    "client-ip",
    "true-client-ip",
}
FORBIDDEN_PREFIXES = ("proxy-", "x-forwarded-")
Rule = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class HttpSettings(BaseModel):
    """The fields of an HTTP(S) check."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        None, description="HTTP: http:// or https://", validate_default=True
    )
    method: Method = "GET"
    headers: dict[str, Annotated[str, StringConstraints(max_length=1000)]] | None = None
    body: Annotated[str, StringConstraints(max_length=MAX_BODY)] | None = Field(None, description="with POST only")
    expect_status: Annotated[str, StringConstraints(max_length=200)] = Field(
        "200-399", description="codes and ranges: 200-299,301"
    )
    keyword: Rule | None = Field(None, description="the body must contain it")
    keyword_absent: Rule | None = Field(None, description="the body must not contain it")
    json_path: Rule | None = Field(None, description="a dotted path into a JSON body: checks.0.status")
    json_value: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="the value at json_path, as text"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: Any, info: ValidationInfo) -> Any:
        return None if value is None else check_url(value, (info.context or {}).get("guard"))

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: Any) -> Any:
        if value is None:
            return None
        if len(value) > 20:
            raise ValueError("at most 20 headers")
        for name, text in value.items():
            if not HEADER_NAME.match(name):
                raise ValueError(f"{name[:40]!r} is not a header name")
            lowered = name.lower()
            if lowered in FORBIDDEN_HEADERS or lowered.startswith(FORBIDDEN_PREFIXES):
                raise ValueError(f"{name} may not be set: the checker sets it, or it is for proxies")
            no_control_characters(text, f"the value of {name}")
        return value or None

    @field_validator("body")
    @classmethod
    def _body(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("method") != "POST":
            raise ValueError("a body is sent with POST only")
        return value

    @field_validator("expect_status")
    @classmethod
    def _expect_status(cls, value: Any) -> Any:
        return normalize_status_spec(value)

    @field_validator("json_path")
    @classmethod
    def _json_path(cls, value: Any) -> Any:
        if value is not None:
            json_path_steps(value)
        return value

    @field_validator("json_value")
    @classmethod
    def _json_value(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and not info.data.get("json_path"):
            raise ValueError("give json_path too")
        return value


class Http(CheckKind):
    name, title, settings = "http", "HTTP(S)", HttpSettings
    required = ("url",)

    def target(self, row: Row) -> Any:
        return Target.of(row)

    def address(self, row: Row) -> str:
        return row.url if row.method == "GET" else f"{row.method} {row.url}"

    async def check(self, state: types.SimpleNamespace, target: Any) -> Result:
        return await check(state.http, state.guard, target)
