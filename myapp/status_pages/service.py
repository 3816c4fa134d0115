"""Public status pages: a title, a slug, chosen monitors of one user; shown to anyone at /status/{slug}."""

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..accounts.service import check_room
from ..checks.kinds import ADDRESS_FIELDS
from ..models import Incident, Monitor
from ..models.meta import utcnow
from .tables import StatusPage, StatusPageMonitor


class SlugTaken(Exception):
    pass


async def own_monitors(session, user_id, ids):
    """The ids among ``ids`` of monitors that belong to the user."""
    if not ids:
        return []
    found = set(await session.scalars(select(Monitor.id).where(Monitor.user_id == user_id, Monitor.id.in_(ids))))
    return [i for i in ids if i in found]


async def save(session, user_id, fields, page=None, limit=0):
    """Create (``page`` None) or update a status page with its monitors; SlugTaken when the slug is in use,
    accounts.service.TooMany when a new page would be one more than ``limit``."""
    now = utcnow()
    if page is None:
        await check_room(session, user_id, StatusPage.__table__, limit, "status pages")
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
        await session.execute(
            insert(StatusPageMonitor),
            [{"status_page_id": page.id, "monitor_id": m, "position": n} for n, m in enumerate(monitors)],
        )
    return page


async def monitor_ids(session, page_id):
    return list(
        await session.scalars(
            select(StatusPageMonitor.monitor_id)
            .where(StatusPageMonitor.status_page_id == page_id)
            .order_by(StatusPageMonitor.position)
        )
    )


async def pages_of(session, user_id):
    """The user's status pages with how many monitors each shows."""
    counts = (
        select(StatusPageMonitor.status_page_id, func.count().label("monitors"))
        .group_by(StatusPageMonitor.status_page_id)
        .subquery()
    )
    rows = await session.execute(
        select(StatusPage, func.coalesce(counts.c.monitors, 0))
        .outerjoin(counts, counts.c.status_page_id == StatusPage.id)
        .where(StatusPage.user_id == user_id)
        .order_by(StatusPage.title)
    )
    return rows.all()


async def public_view(session, slug):
    """(page, its monitors in order, their open incidents) for /status/{slug}, or None."""
    page = await session.scalar(select(StatusPage).where(StatusPage.slug == slug))
    if page is None:
        return None
    monitors = (
        await session.execute(
            select(
                Monitor.id,
                Monitor.name,
                Monitor.state,
                Monitor.state_since,
                *(Monitor.__table__.c[name] for name in ADDRESS_FIELDS),
            )
            .join(StatusPageMonitor, StatusPageMonitor.monitor_id == Monitor.id)
            .where(StatusPageMonitor.status_page_id == page.id)
            .order_by(StatusPageMonitor.position)
        )
    ).all()
    incidents = (
        (
            await session.execute(
                select(Incident.monitor_id, Incident.started_at, Incident.cause)
                .where(Incident.monitor_id.in_([m.id for m in monitors]), Incident.ended_at.is_(None))
                .order_by(Incident.started_at)
            )
        ).all()
        if monitors
        else []
    )
    return page, monitors, incidents
