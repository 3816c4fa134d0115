"""TCP: a connection to a host and port, up when it opens within the timeout; optionally a TLS handshake
too, whose certificate must last ``tls_days``.  The guard checks every address connected to, as for HTTP."""

import asyncio
import socket
import ssl
import types
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ...models.meta import utcnow
from ...outbound import Blocked, check_host, open_connection
from ...text import one_line
from ..rules import certificate_problem, days_left
from ..state import Result
from .base import CheckKind, Row


class TcpSettings(BaseModel):
    """The fields of a TCP check (``host`` is also the DNS kind's)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    host: str | None = Field(
        None, max_length=253, description="TCP: the host to connect to; DNS: the name asked", validate_default=True
    )
    port: int | None = Field(None, ge=1, le=65535, description="TCP: the port", validate_default=True)
    tls: bool = Field(False, description="TCP: a TLS handshake too, and the certificate checked")

    @field_validator("host")
    @classmethod
    def _host(cls, value: Any, info: ValidationInfo) -> Any:
        return None if value is None else check_host(value, (info.context or {}).get("guard"))


def describe(exc: OSError, timeout: float) -> str:
    """Why a connection failed, in words."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, Blocked):
        return str(exc)
    if isinstance(exc, socket.gaierror):
        return "could not resolve the host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not valid: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionError):
        return "the server closed the connection"
    return f"could not connect: {exc.strerror or exc}"


def is_network_failure(exc: BaseException) -> bool:
    return not isinstance(exc, (Blocked, ssl.SSLError)) and isinstance(exc, (TimeoutError, OSError))


async def connect(
    state: types.SimpleNamespace, host: str, port: int, tls: bool, timeout: float
) -> tuple[int, int | None]:
    """(latency in ms, days left on the certificate or None) of one connection, closed at once."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(timeout):
        _, writer = await open_connection(state, host, port, state.tls if tls else None)
    latency = round((loop.time() - started) * 1000)
    days = days_left(writer.get_extra_info("peercert")) if tls else None
    writer.close()
    return latency, days


class Tcp(CheckKind):
    name, title, settings = "tcp", "TCP port", TcpSettings
    required = ("host", "port")

    def target(self, row: Row) -> Any:
        return row  # host, port, tls, tls_days, timeout, degraded_ms

    def address(self, row: Row) -> str:
        host = f"[{row.host}]" if ":" in (row.host or "") else row.host
        return f"{'tls' if row.tls else 'tcp'}://{host}:{row.port}"

    async def check(self, state: types.SimpleNamespace, target: Any) -> Result:
        at = utcnow()
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            latency, days = await connect(state, target.host, target.port, target.tls, target.timeout)
        except (TimeoutError, OSError) as exc:  # ssl errors and Blocked are OSErrors
            latency = round((loop.time() - started) * 1000)
            return Result(
                at, False, None, latency, one_line(describe(exc, target.timeout)), network=is_network_failure(exc)
            )
        error = certificate_problem(days, target.tls_days)
        slow = error is None and target.degraded_ms is not None and latency > target.degraded_ms
        return Result(at, error is None, None, latency, error, slow)
