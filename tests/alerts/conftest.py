"""Real receivers for alerts: the HTTP target's /hook (tests/monitors/conftest.py) and an SMTP server
(aiosmtpd) that records every message; an app whose outbox task runs."""

import email
import email.policy

import pytest
from aiosmtpd.controller import Controller

from ..helpers import free_port
from ..monitors.conftest import new_monitor, owner, target  # noqa: F401 (fixtures)

PUBLIC_URL = "https://status.example.com"


class Mailbox:
    """An aiosmtpd handler: every message it accepts, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "message": message})
        return "250 OK"


@pytest.fixture
def smtp():
    """(the Mailbox, its port): a real SMTP server on 127.0.0.1."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


@pytest.fixture
def alerting(make_myapp, smtp):
    """A TestApp of an app whose outbox task runs, mailing through the test's SMTP server."""
    return make_myapp(
        **{
            "alerts.outbox": "true",
            "smtp.host": "127.0.0.1",
            "smtp.port": str(smtp[1]),
            "smtp.from": "alerts@example.com",
            "myapp.public_url": PUBLIC_URL,
            "myapp.allowed_hosts": "localhost",
        }
    )


def new_channel(client, auth, **fields):
    return client.post_json("/api/channels", {"name": "a channel", **fields}, headers=auth, status=201).json


def deliveries(client, auth, channel):
    return client.get(f"/api/channels/{channel['id']}/deliveries", headers=auth).json["deliveries"]
