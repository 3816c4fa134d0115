"""Sending one delivery: a webhook POST with aiohttp (through the monitors' guarded client) or an
e-mail with aiosmtplib.  Every attempt comes back as an Attempt; nothing here raises for the
receiver's sake."""

import asyncio
import email.message
import email.utils
import hashlib
import hmac
import time

import aiohttp
import aiosmtplib

from ..models.meta import utcnow
from . import messages
from . import service
from .service import Attempt

TIMEOUT = 10  # seconds for one attempt
USER_AGENT = "myapp-alerts/0.1"


def signature(secret, body):
    """The X-Myapp-Signature header's value: sha256=<hex HMAC-SHA256 of the body with the secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send(state, settings, channel, doc):
    """Send ``doc`` (messages.document) through ``channel``; the Attempt says how it went."""
    doc = messages.as_sent(doc, settings.public_url)
    started, at = time.perf_counter(), utcnow()
    try:
        async with asyncio.timeout(TIMEOUT):
            if channel.kind == "webhook":
                status = await post_webhook(state.http, channel, doc)
            else:
                status = await send_email(settings, channel, doc)
        error = None if status is None or 200 <= status < 300 else f"the receiver answered {status}"
    except TimeoutError:
        status, error = None, f"timed out after {TIMEOUT} s"
    except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError, ValueError) as exc:
        status, error = None, describe(exc)
    return Attempt(at, error is None, status, int((time.perf_counter() - started) * 1000), error)


def describe(exc):
    text = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in text:
        return "connection refused"
    return f"{type(exc).__name__}: {text}"[:300]


async def post_webhook(http, channel, doc):
    body = messages.webhook_body(doc, channel.slack)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Myapp-Delivery": doc["delivery"],
               "X-Myapp-Event": doc["event"]}
    if channel.secret:
        headers["X-Myapp-Signature"] = signature(channel.secret, body)
    # no redirects: a webhook that moved is a configuration to fix, and a redirect could point inside
    async with http.post(channel.target, data=body, headers=headers, allow_redirects=False) as res:
        await res.content.read(64 * 1024)
        return res.status


async def send_email(settings, channel, doc):
    message = email.message.EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = channel.target
    message["Subject"] = messages.subject(doc)
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = f"<{doc['delivery']}@myapp>"  # the idempotency key: a repeat has the same id
    message["X-Myapp-Delivery"] = doc["delivery"]
    message.set_content(messages.text(doc))
    await aiosmtplib.send(message, hostname=settings.smtp_host, port=settings.smtp_port,
                          username=settings.smtp_username, password=settings.smtp_password,
                          use_tls=settings.smtp_tls == "tls", start_tls=settings.smtp_tls == "starttls",
                          timeout=TIMEOUT)
    return None


async def send_test(state, settings, session, channel):
    """A test message through ``channel`` now, kept with its deliveries; the Attempt says how it went."""
    key = service.new_key()
    doc = messages.document(key, "test", None, utcnow(), channel=channel.name)
    attempt = await send(state, settings, channel, doc)
    await service.record_test(session, channel, key, doc, attempt)
    return attempt
