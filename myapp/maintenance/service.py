"""Maintenance windows: when a monitor is in MAINTENANCE (checked and stored, but no incident, no
alert, and not counted in uptime).  ``active`` is pure; the rest reads and writes the windows
(their fields: schema.py).

A one-off window runs from ``starts_at`` to ``ends_at`` (UTC).  A weekly one starts on each of its
``days`` at ``start_time`` in ``timezone`` (daylight saving included) and lasts
``duration_minutes``: it may run past midnight, into the next day or days.
"""

import datetime
import zoneinfo

from sqlalchemy import or_, select

from ..accounts.service import check_room
from ..models import MaintenanceWindow, Monitor
from ..models.meta import utcnow
from ..validation import Invalid, next_page
from .schema import DAYS

UTC = datetime.UTC


def active(window, at):
    """Whether ``window`` covers ``at`` (a naive UTC datetime)."""
    if window.kind == "once":
        return window.starts_at <= at < window.ends_at
    zone = zoneinfo.ZoneInfo(window.timezone)
    local = at.replace(tzinfo=UTC).astimezone(zone)
    hour, minute = map(int, window.start_time.split(":"))
    length = datetime.timedelta(minutes=window.duration_minutes)
    days = window.days.split(",")
    for back in range(0, window.duration_minutes // 1440 + 2):  # windows that began up to that many days ago
        day = local.date() - datetime.timedelta(days=back)
        if DAYS[day.weekday()] not in days:
            continue
        start = datetime.datetime.combine(day, datetime.time(hour, minute), zone)
        if start <= local < start + length:
            return True
    return False


async def check_monitor(session, user_id, monitor_id):
    if (
        monitor_id is not None
        and await session.scalar(select(Monitor.id).where(Monitor.id == monitor_id, Monitor.user_id == user_id)) is None
    ):
        raise Invalid({"monitor_id": f"no such monitor: {monitor_id}"})


async def create_window(session, user_id, fields, limit=0, now=None):
    """A new window; accounts.service.TooMany when the user has ``limit`` already."""
    await check_room(session, user_id, MaintenanceWindow.__table__, limit, "maintenance windows")
    await check_monitor(session, user_id, fields["monitor_id"])
    now = now or utcnow()
    window = MaintenanceWindow(user_id=user_id, **fields, created_at=now, updated_at=now)
    session.add(window)
    await session.flush()
    return window


async def update_window(session, window, fields, now=None):
    await check_monitor(session, window.user_id, fields["monitor_id"])
    for name, value in fields.items():
        setattr(window, name, value)
    window.updated_at = now or utcnow()
    await session.flush()
    return window


async def page_of_windows(session, user_id, limit, after_id=None):
    """The user's windows by id, ``limit`` at a time after ``after_id``: (windows, next cursor or None)."""
    query = (
        select(MaintenanceWindow)
        .where(MaintenanceWindow.user_id == user_id)
        .order_by(MaintenanceWindow.id)
        .limit(limit + 1)
    )
    if after_id is not None:
        query = query.where(MaintenanceWindow.id > after_id)
    return next_page(list(await session.scalars(query)), limit)


async def list_windows(session, user_id):
    """All the user's windows, by name (at most ``monitors.max_windows_per_user``)."""
    return list(
        await session.scalars(
            select(MaintenanceWindow)
            .where(MaintenanceWindow.user_id == user_id)
            .order_by(MaintenanceWindow.name, MaintenanceWindow.id)
        )
    )


async def windows_of(session, rows, since):
    """{monitor id: [windows]} for monitor rows (with id and user_id): their own and their owner's global ones,
    weekly or not over by ``since``."""
    if not rows:
        return {}
    found = (
        await session.scalars(
            select(MaintenanceWindow).where(
                or_(
                    MaintenanceWindow.monitor_id.in_({r.id for r in rows}),
                    MaintenanceWindow.monitor_id.is_(None) & MaintenanceWindow.user_id.in_({r.user_id for r in rows}),
                ),
                or_(MaintenanceWindow.kind == "weekly", MaintenanceWindow.ends_at > since),
            )
        )
    ).all()
    return {
        r.id: [w for w in found if w.monitor_id == r.id or w.monitor_id is None and w.user_id == r.user_id]
        for r in rows
    }
