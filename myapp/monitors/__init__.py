"""Monitors: what a user makes and edits (forms, the JSON API, pages, queries, charts).  Running checks
and recording them is myapp.checks', below this; alerts hear of flips from there.

Settings: ``monitors.*`` (MonitorSettings here, CheckSettings in myapp.checks; docs/monitors.md).
"""

from ..accounts.security import OwnedRow
from ..models import Monitor
from ..services import find
from ..settings import Field, Section
from ..validation import add_validation_context


class MonitorSettings(Section):
    min_interval: int = Field(30, alias="monitors.min_interval", ge=1)
    max_per_user: int = Field(1000, alias="monitors.max_per_user", ge=0, description="0: no limit")
    refresh_seconds: int = Field(15, alias="monitors.refresh_seconds", ge=1, description="the dashboard's rows")


class MonitorResource(OwnedRow):
    """One monitor, looked up by the ``monitor_id`` in the URL: its owner's alone."""

    model, key, name, missing = Monitor, "monitor_id", "monitor", "No such monitor."


def includeme(config):
    config.include("myapp.checks")
    registry = config.registry
    settings = find(registry, MonitorSettings)
    add_validation_context(registry, min_interval=settings.min_interval)
    config.scan(".api")
    config.scan(".pages")
