"""Alerts: notification channels (webhook, e-mail, chat and push services through Apprise), chosen per
monitor, fed by an outbox.

A state change of a monitor writes its deliveries in the same transaction (this area listens to
monitors' flips), and the outbox task sends them.  Settings: ``smtp.*``, ``alerts.*`` and
``myapp.public_url`` (links in messages); see AlertSettings.
"""

import datetime
from typing import Literal

from pydantic import model_validator

from ..accounts.security import OwnedRow
from ..accounts.service import Limit, Throttle
from ..models import Channel
from ..outbound import guard_blocking_connections
from ..services import find, provide
from ..settings import Field, OptionalText, Section, Site
from ..templating import add_to_templates
from ..validation import add_validation_context
from . import service
from .kinds import KINDS
from .outbox import Outbox


class AlertSettings(Section):
    smtp_host: OptionalText = Field(None, alias="smtp.host", description="none: e-mail channels are refused")
    smtp_port: int = Field(25, alias="smtp.port", ge=1, le=65535)
    smtp_username: OptionalText = Field(None, alias="smtp.username")
    smtp_password: OptionalText = Field(None, alias="smtp.password")
    smtp_from: str = Field("myapp@localhost", alias="smtp.from")
    smtp_tls: Literal["none", "starttls", "tls"] = Field("none", alias="smtp.tls")
    max_attempts: int = Field(8, alias="alerts.max_attempts", ge=1)
    backoff_seconds: int = Field(30, alias="alerts.backoff_seconds", ge=1)
    outbox: bool = Field(True, alias="alerts.outbox", description="run the outbox in this process")
    attempt_seconds: float = Field(5, alias="alerts.attempt_seconds", gt=0, le=30, description="one attempt's deadline")
    claim_seconds: float = Field(
        60,
        alias="alerts.claim_seconds",
        ge=10,
        le=3600,
        description="a delivery claimed by a process that stopped is sent again by another after this",
    )
    max_concurrency: int = Field(100, alias="alerts.max_concurrency", ge=1, description="sends at once, per process")

    @model_validator(mode="after")
    def _claim_outlasts_an_attempt(self):
        if self.claim_seconds < self.attempt_seconds + 10:
            raise ValueError(
                "alerts.claim_seconds must be at least alerts.attempt_seconds + 10 (an attempt and its record)"
            )
        return self

    max_concurrency_per_owner: int = Field(10, alias="alerts.max_concurrency_per_owner", ge=1)
    max_concurrency_per_channel: int = Field(2, alias="alerts.max_concurrency_per_channel", ge=1)
    apprise_threads: int = Field(
        20, alias="alerts.apprise_threads", ge=1, le=200, description="threads for Apprise's services, per process"
    )
    apprise_threads_per_owner: int = Field(
        5, alias="alerts.apprise_threads_per_owner", ge=1, description="of them, one owner's sends at once"
    )
    max_channels_per_user: int = Field(100, alias="alerts.max_channels_per_user", ge=0, description="0: no limit")
    min_remind_seconds: int = Field(300, alias="alerts.min_remind_seconds", ge=1, description="reminders' least period")
    confirm_email: bool = Field(True, alias="alerts.confirm_email", description="alerts only to confirmed addresses")
    tests_per_hour: int = Field(10, alias="alerts.tests_per_hour", ge=1, description="per user, and per address")
    confirmations_per_day: int = Field(3, alias="alerts.confirmations_per_day", ge=1, description="per address")
    new_addresses_per_day: int = Field(10, alias="alerts.new_addresses_per_day", ge=1, description="per user")


def shown_target(target, kind):
    """The channel's target as its page shows it (a secret one masked)."""
    return KINDS[kind].shown_target(target)


class ChannelResource(OwnedRow):
    """One channel, looked up by the ``channel_id`` in the URL: its owner's alone."""

    model, key, name, missing = Channel, "channel_id", "channel", "No such channel."


def includeme(config):
    config.include("myapp.accounts")
    config.include("myapp.outbound")
    config.include("myapp.on_demand")
    config.include("myapp.checks")  # its flips
    registry = config.registry
    settings = find(registry, AlertSettings)
    provide(registry, Outbox(settings, find(registry, Site)))
    hour, day = datetime.timedelta(hours=1), datetime.timedelta(days=1)
    find(registry, Throttle).limits.update(
        test_user=Limit(settings.tests_per_hour, hour),
        test_address=Limit(settings.tests_per_hour, hour),
        confirm_address=Limit(settings.confirmations_per_day, day),
        confirm_user=Limit(settings.new_addresses_per_day, day),
    )
    add_validation_context(registry, smtp=settings.smtp_host is not None, min_remind=settings.min_remind_seconds)
    guard_blocking_connections()  # Apprise's services connect through requests
    config.add_flip_listener(service.enqueue)
    if settings.outbox:
        config.add_background_task(find(registry, Outbox).run, name="alerts.outbox")
    add_to_templates(config, {"channel_target": shown_target})
    config.scan(".api")
    config.scan(".pages")
