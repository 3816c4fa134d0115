"""Alerts: notification channels (webhook, e-mail), chosen per monitor, fed by an outbox.

Settings (see README.md): ``smtp.host``, ``smtp.port``, ``smtp.username``, ``smtp.password``,
``smtp.from``, ``smtp.tls``, ``alerts.max_attempts``, ``alerts.backoff_seconds``,
``alerts.outbox`` and ``myapp.public_url`` (links in messages).
"""

from pyramid.settings import asbool

from ..accounts.security import OwnedRow
from ..models import Channel
from ..settings import NotConfigured, whole_number
from .outbox import Outbox


class Settings:
    def __init__(self, settings):
        def number(name, default, least):
            return whole_number(settings, name, default, least)

        self.public_url = settings.get("myapp.public_url", "").strip().rstrip("/") or None
        self.smtp_host = settings.get("smtp.host", "localhost").strip()
        self.smtp_port = number("smtp.port", 25, 1)
        self.smtp_username = settings.get("smtp.username", "").strip() or None
        self.smtp_password = settings.get("smtp.password", "") or None
        self.smtp_from = settings.get("smtp.from", "myapp@localhost").strip()
        self.smtp_tls = settings.get("smtp.tls", "none").strip()
        if self.smtp_tls not in ("none", "starttls", "tls"):
            raise NotConfigured(f"smtp.tls must be none, starttls or tls, not {self.smtp_tls!r}")
        self.max_attempts = number("alerts.max_attempts", 8, 1)
        self.backoff_seconds = number("alerts.backoff_seconds", 30, 1)
        self.outbox = asbool(settings.get("alerts.outbox", "true"))


class ChannelResource(OwnedRow):
    """One channel, looked up by the ``channel_id`` in the URL: its owner's alone."""

    model, key, name, missing = Channel, "channel_id", "channel", "No such channel."


def includeme(config):
    settings = Settings(config.get_settings())
    config.registry.alerts = settings
    config.registry.outbox = Outbox(settings)
    if settings.outbox:
        config.add_background_task(config.registry.outbox.run, name="alerts.outbox")
