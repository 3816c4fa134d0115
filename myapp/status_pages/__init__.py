"""Status pages: chosen monitors of one user, shown to anyone at /status/{slug}; and badges, a monitor's
state or uptime as an image anyone may fetch (/badges/{id}/status.svg) when its owner allows.

Status pages carry announcements: incidents and notices their owner writes, with updates (announcements.py).

Settings: ``status_pages.cache_seconds`` (how long a process keeps a rendered public page),
``status_pages.max_per_user`` and ``status_pages.max_announcements_per_user``.
"""

from ..accounts.security import OwnedRow
from ..maintenance import Maintenance
from ..services import find, provide
from ..settings import Field, Section
from ..templating import add_to_templates
from .cache import BadgeCache, StatusCache, forget_owners_pages
from .tables import Announcement, StatusPage


class StatusPageSettings(Section):
    cache_seconds: int = Field(30, alias="status_pages.cache_seconds", ge=0)
    max_per_user: int = Field(50, alias="status_pages.max_per_user", ge=0, description="0: no limit")
    max_announcements: int = Field(
        500, alias="status_pages.max_announcements_per_user", ge=0, description="0: no limit"
    )


class StatusPageResource(OwnedRow):
    """One status page, looked up by the ``page_id`` in the URL: its owner's alone."""

    model, key, name, missing = StatusPage, "page_id", "page", "No such status page."


class AnnouncementResource(OwnedRow):
    """One announcement, by the ``announcement_id`` in the URL: its owner's alone."""

    model, key, name, missing = Announcement, "announcement_id", "announcement", "No such announcement."


def includeme(config):
    config.include("myapp.accounts")
    config.include("myapp.monitors")  # its monitors, and the pages' address filter
    config.include("myapp.maintenance")  # windows announced on the pages
    registry = config.registry
    settings = find(registry, StatusPageSettings)
    provide(registry, StatusCache(settings.cache_seconds))
    provide(registry, BadgeCache(settings.cache_seconds))
    find(registry, Maintenance).on_announced_change.append(forget_owners_pages)
    add_to_templates(config, badge_seconds=settings.cache_seconds)  # the monitor page's badge card says it
    config.scan(".pages")
    config.scan(".badges")
    config.scan(".api")
