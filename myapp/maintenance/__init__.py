"""Maintenance windows: times when monitors are checked but neither alert nor count against uptime."""

from ..accounts.security import OwnedRow
from ..services import find, provide
from ..settings import Field, Section
from .tables import MaintenanceWindow


class MaintenanceSettings(Section):
    max_per_user: int = Field(100, alias="maintenance.max_windows_per_user", ge=0, description="0: no limit")


class WindowResource(OwnedRow):
    """One maintenance window, looked up by the ``window_id`` in the URL: its owner's alone."""

    model, key, name, missing = MaintenanceWindow, "window_id", "window", "No such maintenance window."


class Maintenance:
    """The area's settings, and what other areas hang on it: ``on_announced_change``, coroutines awaited with
    (request, owner id) when a window announced on its owner's status pages is made, changed or deleted (the
    status pages forget what this process keeps rendered of them)."""

    def __init__(self, settings):
        self.settings = settings
        self.on_announced_change = []

    async def announced_change(self, request, user_id, announced):
        """Tell the listeners, when the window changed is (or was) ``announced``."""
        if announced:
            for listener in self.on_announced_change:
                await listener(request, user_id)


def includeme(config):
    config.include("myapp.accounts")
    provide(config.registry, Maintenance(find(config.registry, MaintenanceSettings)))
    config.scan(".api")
    config.scan(".pages")
