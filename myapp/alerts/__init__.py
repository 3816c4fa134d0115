"""Alerts: notification channels (webhook, e-mail), chosen per monitor, fed by an outbox.

A state change of a monitor writes its deliveries in the same transaction (this area listens to
monitors' flips), and the outbox task sends them.  Settings: ``smtp.*``, ``alerts.*`` and
``myapp.public_url`` (links in messages); see AlertSettings.
"""

from typing import Literal

from ..accounts.security import OwnedRow
from ..models import Channel
from ..settings import Field, Optional, Section, Site, section
from . import service
from .outbox import Outbox


class AlertSettings(Section):
    smtp_host: str = Field("localhost", alias="smtp.host")
    smtp_port: int = Field(25, alias="smtp.port", ge=1, le=65535)
    smtp_username: Optional = Field(None, alias="smtp.username")
    smtp_password: Optional = Field(None, alias="smtp.password")
    smtp_from: str = Field("myapp@localhost", alias="smtp.from")
    smtp_tls: Literal["none", "starttls", "tls"] = Field("none", alias="smtp.tls")
    max_attempts: int = Field(8, alias="alerts.max_attempts", ge=1)
    backoff_seconds: int = Field(30, alias="alerts.backoff_seconds", ge=1)
    outbox: bool = Field(True, alias="alerts.outbox", description="run the outbox in this process")


class ChannelResource(OwnedRow):
    """One channel, looked up by the ``channel_id`` in the URL: its owner's alone."""

    model, key, name, missing = Channel, "channel_id", "channel", "No such channel."


def includeme(config):
    config.include("myapp.accounts")
    config.include("myapp.outbound")
    config.include("myapp.monitors")
    registry = config.registry
    settings = section(registry, AlertSettings)
    registry.alerts = settings
    registry.outbox = Outbox(settings, section(registry, Site))
    config.add_flip_listener(service.enqueue)
    if settings.outbox:
        config.add_background_task(registry.outbox.run, name="alerts.outbox")
    config.scan(".api")
    config.scan(".pages")
