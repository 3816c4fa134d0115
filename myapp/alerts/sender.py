"""Sending one delivery through its channel's kind.  Every attempt comes back as an Attempt; nothing
here raises for the receiver's sake."""

import asyncio
import time

import aiohttp
import aiosmtplib

from ..models.meta import utcnow
from . import messages
from .kinds import KINDS, Failed
from .service import Attempt


async def send(sending, channel, doc):
    """Send ``doc`` (messages.document) through ``channel``; the Attempt says how it went."""
    doc = messages.as_sent(doc, sending.public_url)
    started, at = time.perf_counter(), utcnow()
    deadline = sending.settings.attempt_seconds
    try:
        async with asyncio.timeout(deadline):
            status = await KINDS[channel.kind].send(sending, channel, doc)
        error = None if status is None or 200 <= status < 300 else f"the receiver answered {status}"
    except TimeoutError:
        status, error = None, f"timed out after {deadline:g} s"
    except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError, ValueError, Failed) as exc:
        status, error = None, describe(exc)
    return Attempt(at, error is None, status, int((time.perf_counter() - started) * 1000), error)


def describe(exc):
    if isinstance(exc, Failed):
        return str(exc)[:300]
    text = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in text:
        return "connection refused"
    return f"{type(exc).__name__}: {text}"[:300]
