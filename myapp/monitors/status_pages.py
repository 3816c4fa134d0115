"""Public status pages: a title, a slug, chosen monitors of one user; shown to anyone at /status/{slug}."""

import re
import threading
import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..models import Incident, Monitor, StatusPage, StatusPageMonitor
from ..models.meta import utcnow
from ..validation import Invalid
from ..validation import fields_of
from .schema import no_control_characters

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$")
MAX_MONITORS = 100


class SlugTaken(Exception):
    pass


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
                for key in [k for k, (expires, _) in self._pages.items() if expires <= now] or [next(iter(self._pages))]:
                    del self._pages[key]
            self._pages[slug] = (now + self.seconds, body)

    def forget(self, *slugs):
        with self._lock:
            for slug in slugs:
                self._pages.pop(slug, None)


class StatusPageFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    slug: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=60)]
    show_urls: bool = False
    monitors: list[int] = Field(default_factory=list, max_length=MAX_MONITORS)

    @field_validator("title")
    @classmethod
    def _title(cls, value):
        return no_control_characters(value, "a title")

    @field_validator("slug")
    @classmethod
    def _slug(cls, value):
        if not SLUG.match(value):
            raise ValueError("3-60 letters, digits and dashes (a-z, 0-9, -), not starting or ending with a dash")
        return value

    @field_validator("monitors")
    @classmethod
    def _monitors(cls, value):
        return list(dict.fromkeys(value))


def validate(data):
    try:
        return StatusPageFields.model_validate(data).model_dump()
    except ValidationError as exc:
        raise Invalid(fields_of(exc)) from None


async def own_monitors(session, user_id, ids):
    """The ids among ``ids`` of monitors that belong to the user."""
    if not ids:
        return []
    found = set(await session.scalars(select(Monitor.id).where(Monitor.user_id == user_id, Monitor.id.in_(ids))))
    return [i for i in ids if i in found]


async def save(session, user_id, fields, page=None):
    """Create (``page`` None) or update a status page with its monitors; SlugTaken when the slug is in use."""
    now = utcnow()
    taken = await session.scalar(select(StatusPage.id).where(StatusPage.slug == fields["slug"]))
    if taken is not None and (page is None or taken != page.id):
        raise SlugTaken(fields["slug"])
    if page is None:
        page = StatusPage(user_id=user_id, created_at=now)
        session.add(page)
    page.title, page.slug, page.show_urls, page.updated_at = fields["title"], fields["slug"], fields["show_urls"], now
    try:
        await session.flush()
    except IntegrityError:  # another page took the slug since: this is the request's only write
        await session.rollback()
        raise SlugTaken(fields["slug"]) from None
    monitors = await own_monitors(session, user_id, fields["monitors"])
    await session.execute(delete(StatusPageMonitor).where(StatusPageMonitor.status_page_id == page.id))
    if monitors:
        await session.execute(insert(StatusPageMonitor), [
            {"status_page_id": page.id, "monitor_id": m, "position": n} for n, m in enumerate(monitors)])
    return page


async def monitor_ids(session, page_id):
    return list(await session.scalars(select(StatusPageMonitor.monitor_id)
                                      .where(StatusPageMonitor.status_page_id == page_id)
                                      .order_by(StatusPageMonitor.position)))


async def pages_of(session, user_id):
    """The user's status pages with how many monitors each shows."""
    counts = (select(StatusPageMonitor.status_page_id, func.count().label("monitors"))
              .group_by(StatusPageMonitor.status_page_id).subquery())
    rows = await session.execute(
        select(StatusPage, func.coalesce(counts.c.monitors, 0))
        .outerjoin(counts, counts.c.status_page_id == StatusPage.id)
        .where(StatusPage.user_id == user_id).order_by(StatusPage.title))
    return rows.all()


async def public_view(session, slug):
    """(page, its monitors in order, their open incidents) for /status/{slug}, or None."""
    page = await session.scalar(select(StatusPage).where(StatusPage.slug == slug))
    if page is None:
        return None
    monitors = (await session.execute(
        select(Monitor.id, Monitor.name, Monitor.url, Monitor.state, Monitor.state_since)
        .join(StatusPageMonitor, StatusPageMonitor.monitor_id == Monitor.id)
        .where(StatusPageMonitor.status_page_id == page.id).order_by(StatusPageMonitor.position))).all()
    incidents = (await session.execute(
        select(Incident.monitor_id, Incident.started_at, Incident.cause)
        .where(Incident.monitor_id.in_([m.id for m in monitors]), Incident.ended_at.is_(None))
        .order_by(Incident.started_at))).all() if monitors else []
    return page, monitors, incidents
