"""Maintenance windows: times when monitors are checked but neither alert nor count against uptime."""

from ..accounts.security import OwnedRow
from ..models import MaintenanceWindow


class WindowResource(OwnedRow):
    """One maintenance window, looked up by the ``window_id`` in the URL: its owner's alone."""

    model, key, name, missing = MaintenanceWindow, "window_id", "window", "No such maintenance window."


def includeme(config):
    config.include("myapp.accounts")
    config.scan(".api")
    config.scan(".pages")
