"""Alerts: notification channels (webhook, e-mail), chosen per monitor, fed by an outbox.

Settings (see README.md): ``smtp.host``, ``smtp.port``, ``smtp.username``, ``smtp.password``,
``smtp.from``, ``smtp.tls``, ``alerts.max_attempts``, ``alerts.backoff_seconds``,
``alerts.outbox`` and ``myapp.public_url`` (links in messages).
"""

from pyramid.httpexceptions import HTTPNotFound
from pyramid.settings import asbool

from ..accounts.security import OwnedResource
from ..models import Channel
from ..settings import NotConfigured
from .outbox import Outbox


class Settings:
    def __init__(self, settings):
        def number(name, default, least):
            raw = settings.get(name, str(default))
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise NotConfigured(f"{name} must be a whole number, not {raw!r}") from None
            if value < least:
                raise NotConfigured(f"{name} must be at least {least}")
            return value

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


class ChannelResource(OwnedResource):
    """One channel, looked up by the ``channel_id`` in the URL: its owner's alone."""

    def __init__(self, request):
        channel = request.run_async(request.dbsession.get(Channel, int(request.matchdict["channel_id"])))
        if channel is None:
            raise HTTPNotFound("No such channel.")
        self.channel = channel
        self.owner_id = channel.user_id


def includeme(config):
    settings = Settings(config.get_settings())
    config.registry.alerts = settings
    config.registry.outbox = Outbox(settings)
    if settings.outbox:
        config.add_background_task(config.registry.outbox.run, name="alerts.outbox")
