"""Status pages: chosen monitors of one user, shown to anyone at /status/{slug}; and badges, a monitor's
state or uptime as an image anyone may fetch (/badges/{id}/status.svg) when its owner allows.

Status pages carry announcements: incidents and notices their owner writes, with updates (announcements.py).

Settings: ``status_pages.cache_seconds`` (how long a process keeps a rendered public page),
``status_pages.max_per_user`` and ``status_pages.max_announcements_per_user``.
"""

from ..accounts.security import OwnedRow
from ..models import Announcement, StatusPage
from ..settings import Field, Section, section
from .cache import PublicCache
from .pages import forget_owners_pages


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
    settings = config.registry.status_pages = section(config.registry, StatusPageSettings)
    config.registry.status_cache = PublicCache(settings.cache_seconds)
    config.registry.badge_cache = PublicCache(settings.cache_seconds)
    config.registry.maintenance.on_announced_change.append(forget_owners_pages)
    config.scan(".pages")
    config.scan(".badges")
    config.scan(".api")
