"""Monitors: HTTP endpoint checks run by the application itself, with states, incidents and history.

Settings (see README.md): ``monitors.scheduler``, ``monitors.min_interval``,
``monitors.max_concurrency``, ``monitors.private_targets``, ``monitors.max_per_user``,
``monitors.raw_retention_hours``, ``monitors.hourly_retention_days``,
``monitors.probes_per_hour``, ``monitors.ca_file``, ``monitors.status_cache_seconds``,
``monitors.refresh_seconds``.
"""

import asyncio
import datetime
import logging

from pyramid.settings import asbool

from ..accounts.security import OwnedRow
from ..accounts.service import Limit
from ..models import MaintenanceWindow, Monitor, StatusPage, in_session
from ..models.meta import utcnow
from ..settings import NotConfigured, whole_number
from . import service
from .checker import Guard, http_client, tls_context
from .scheduler import Scheduler
from .status_pages import PublicCache

log = logging.getLogger(__name__)

PRUNE_EVERY = 600


class Settings:
    """The monitors' settings, read once."""

    def __init__(self, settings):
        def number(name, default, least=0):
            return whole_number(settings, name, default, least)

        targets = settings.get("monitors.private_targets", "deny").strip()
        if targets not in ("allow", "deny"):
            raise NotConfigured(f"monitors.private_targets must be allow or deny, not {targets!r}")
        self.guard = Guard(allow_private=targets == "allow")
        self.scheduler = asbool(settings.get("monitors.scheduler", "true"))
        self.min_interval = number("monitors.min_interval", 30, least=1)
        self.max_concurrency = number("monitors.max_concurrency", 100, least=1)
        self.max_per_user = number("monitors.max_per_user", 1000)
        self.raw_retention = datetime.timedelta(hours=number("monitors.raw_retention_hours", 48, least=1))
        self.hourly_retention = datetime.timedelta(days=number("monitors.hourly_retention_days", 90, least=1))
        self.probes_per_hour = number("monitors.probes_per_hour", 120, least=1)
        self.status_cache_seconds = number("monitors.status_cache_seconds", 30)
        self.refresh_seconds = number("monitors.refresh_seconds", 15, least=1)  # the dashboard's rows
        ca_file = settings.get("monitors.ca_file", "").strip() or None
        try:  # made once, here: loading the system's certificates takes tens of ms, too long on a loop
            self.tls = tls_context(ca_file)
        except (OSError, ValueError) as exc:
            raise NotConfigured(f"monitors.ca_file cannot be read as certificates: {exc}") from None

    @property
    def context(self):
        """What validating a monitor's fields needs to know."""
        return {"min_interval": self.min_interval, "guard": self.guard}


class MonitorResource(OwnedRow):
    """One monitor, looked up by the ``monitor_id`` in the URL: its owner's alone."""

    model, key, name, missing = Monitor, "monitor_id", "monitor", "No such monitor."


class StatusPageResource(OwnedRow):
    """One status page, looked up by the ``page_id`` in the URL: its owner's alone."""

    model, key, name, missing = StatusPage, "page_id", "page", "No such status page."


class WindowResource(OwnedRow):
    """One maintenance window, looked up by the ``window_id`` in the URL: its owner's alone."""

    model, key, name, missing = MaintenanceWindow, "window_id", "window", "No such maintenance window."


def make_pruner(settings):
    async def prune_history(state):
        """Raw results past their retention, hourly rollups past theirs; daily rollups stay."""
        while True:
            await asyncio.sleep(PRUNE_EVERY)
            now = utcnow()
            while await in_session(state, lambda s: service.prune(s, now - settings.raw_retention,
                                                                  now - settings.hourly_retention)):
                await asyncio.sleep(0)  # others' turn between chunks

    return prune_history


def includeme(config):
    settings = Settings(config.get_settings())
    registry = config.registry
    registry.monitors = settings
    registry.validation_context = settings.context  # what request bodies are checked with (myapp.api)
    registry.status_cache = PublicCache(settings.status_cache_seconds)
    registry.throttle.limits["probe_user"] = Limit(settings.probes_per_hour, datetime.timedelta(hours=1))
    config.add_cleanup_ctx(http_client(settings.guard, settings.max_concurrency, settings.tls))
    registry.monitor_scheduler = Scheduler(settings.max_concurrency, settings.tls)
    if settings.scheduler:
        config.add_background_task(registry.monitor_scheduler.run, name="monitors.scheduler")
    config.add_background_task(make_pruner(settings), name="monitors.prune")
