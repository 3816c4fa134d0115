"""The rendered public status pages this process keeps for a while, and forgetting them when they change."""

import threading
import time

from sqlalchemy import select

from ..services import find
from .tables import StatusPage


class PublicCache:
    """This process's rendered public status pages, each kept ``seconds``.

    An incident brings visitors to one status page by the thousand, just when the database
    is busiest, and each would read its 4,500 daily rollups again.  Only pages that exist are
    kept (a made-up slug is a 404, never stored) and at most ``size`` of them, so guessing
    slugs cannot fill it.  Its owner's edits forget the page here at once; other processes
    show them within ``seconds``, as do browsers and proxies (Cache-Control max-age).
    """

    def __init__(self, seconds, size=1000):
        self.seconds, self.size = seconds, size
        self._pages = {}
        self._lock = threading.Lock()

    def get(self, slug):
        entry = self._pages.get(slug)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def put(self, slug, body):
        if self.seconds <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._pages) >= self.size:
                for key in [k for k, (expires, _) in self._pages.items() if expires <= now] or [
                    next(iter(self._pages))
                ]:
                    del self._pages[key]
            self._pages[slug] = (now + self.seconds, body)

    def forget(self, *slugs):
        with self._lock:
            for slug in slugs:
                self._pages.pop(slug, None)


class StatusCache(PublicCache):
    """The rendered status pages."""


class BadgeCache(PublicCache):
    """The rendered badges."""


def forget_when_done(request, *slugs):
    """Drop the public page from this process's cache once the change is committed."""
    request.add_finished_callback(lambda request: find(request.registry, StatusCache).forget(*slugs))


async def forget_owners_pages(request, user_id):
    """Forget every status page of the user once the change is committed (an announced maintenance window
    changed: maintenance.Maintenance.on_announced_change)."""
    forget_when_done(
        request, *await request.dbsession.scalars(select(StatusPage.slug).where(StatusPage.user_id == user_id))
    )
