"""Maintenance windows: times when monitors are checked but neither alert nor count against uptime."""

from ..accounts.security import OwnedRow
from ..models import MaintenanceWindow
from ..settings import Field, Section, section


class MaintenanceSettings(Section):
    max_per_user: int = Field(100, alias="maintenance.max_windows_per_user", ge=0, description="0: no limit")


class WindowResource(OwnedRow):
    """One maintenance window, looked up by the ``window_id`` in the URL: its owner's alone."""

    model, key, name, missing = MaintenanceWindow, "window_id", "window", "No such maintenance window."


def includeme(config):
    config.include("myapp.accounts")
    config.registry.maintenance = section(config.registry, MaintenanceSettings)
    config.scan(".api")
    config.scan(".pages")
