"""Maintenance windows: when a monitor is in MAINTENANCE (checked and stored, but no incident, no
alert, and not counted in uptime).  ``active`` is pure; the rest reads and writes the windows
(their fields: schema.py).

A one-off window runs from ``starts_at`` to ``ends_at`` (UTC).  A weekly one starts on each of its
``days`` at ``start_time`` in ``timezone`` (daylight saving included) and lasts
``duration_minutes``: it may run past midnight, into the next day or days.
"""

import datetime
import zoneinfo
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.service import check_room
from ..models import Monitor
from ..models.meta import utcnow
from ..validation import Invalid, next_page
from .schema import DAYS
from .tables import MaintenanceWindow, MaintenanceWindowMonitor

UTC = datetime.UTC
#: status pages show the windows to announce that start within this many days
ANNOUNCE_DAYS = 14


def active(window: Any, at: datetime.datetime) -> bool:
    """Whether ``window`` covers ``at`` (a naive UTC datetime)."""
    when = next_time(window, at)
    return when is not None and when[0] <= at


def next_time(window, now):
    """(start, end) in naive UTC of the window's occurrence that is on at ``now`` or comes next; None when it
    is over for good."""
    if window.kind == "once":
        return (window.starts_at, window.ends_at) if window.ends_at > now else None
    zone = zoneinfo.ZoneInfo(window.timezone)
    local = now.replace(tzinfo=UTC).astimezone(zone)
    hour, minute = map(int, window.start_time.split(":"))
    length = datetime.timedelta(minutes=window.duration_minutes)
    days = window.days.split(",")
    for ahead in range(-(window.duration_minutes // 1440 + 1), 8):
        day = local.date() + datetime.timedelta(days=ahead)
        if DAYS[day.weekday()] in days:
            start = datetime.datetime.combine(day, datetime.time(hour, minute), zone)
            if start + length > local:
                start = start.astimezone(UTC).replace(tzinfo=None)
                return start, start + length
    return None


async def ahead(session, user_id, monitor_ids, now, days=ANNOUNCE_DAYS):
    """[(window, start, end, [its monitors among ``monitor_ids``])]: the user's windows to announce that cover
    one of ``monitor_ids`` and are on at ``now`` or start within ``days``, soonest first."""
    if not monitor_ids:
        return []
    rows = await session.execute(
        covering(
            monitor_ids,
            now,
            MaintenanceWindow.user_id == user_id,
            MaintenanceWindow.announce,
            or_(MaintenanceWindow.all_monitors, MaintenanceWindowMonitor.monitor_id.is_not(None)),
        )
    )
    covered = {}
    for window, monitor_id in rows:
        covered.setdefault(window, []).append(monitor_id)
    found = []
    for window, ids in covered.items():
        when = next_time(window, now)
        if when is not None and when[0] < now + datetime.timedelta(days=days):
            shown = list(monitor_ids) if window.all_monitors else [m for m in monitor_ids if m in ids]
            found.append((window, *when, shown))
    return sorted(found, key=lambda item: (item[1], item[0].id))


async def check_monitors(session, user_id, ids):
    """Invalid unless every one of ``ids`` (None: all) is a monitor of the user."""
    if ids:
        found = set(await session.scalars(select(Monitor.id).where(Monitor.user_id == user_id, Monitor.id.in_(ids))))
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise Invalid({"monitor_ids": f"no such monitor: {', '.join(missing[:5])}"})


async def set_monitors(session, window, ids):
    """The window covers ``ids`` (checked as the owner's), or all of its owner's monitors (None)."""
    await check_monitors(session, window.user_id, ids)
    window.all_monitors = ids is None
    await session.execute(delete(MaintenanceWindowMonitor).where(MaintenanceWindowMonitor.window_id == window.id))
    if ids:
        await session.execute(
            insert(MaintenanceWindowMonitor), [{"window_id": window.id, "monitor_id": m} for m in ids]
        )


async def create_window(session, user_id, fields, limit=0, now=None):
    """A new window; accounts.service.TooMany when the user has ``limit`` already."""
    await check_room(session, user_id, MaintenanceWindow.__table__, limit, "maintenance windows")
    fields = dict(fields)
    ids = fields.pop("monitor_ids")
    now = now or utcnow()
    window = MaintenanceWindow(user_id=user_id, **fields, created_at=now, updated_at=now)
    session.add(window)
    await session.flush()
    await set_monitors(session, window, ids)
    return window


async def update_window(session, window, fields, now=None):
    fields = dict(fields)
    await set_monitors(session, window, fields.pop("monitor_ids"))
    for name, value in fields.items():
        setattr(window, name, value)
    window.updated_at = now or utcnow()
    await session.flush()
    return window


async def monitors_of(session, windows):
    """{window id: [its monitors' ids]} (empty for a window of all monitors)."""
    ids = {w.id: [] for w in windows}
    if ids:
        for window_id, monitor_id in await session.execute(
            select(MaintenanceWindowMonitor.window_id, MaintenanceWindowMonitor.monitor_id)
            .where(MaintenanceWindowMonitor.window_id.in_(ids))
            .order_by(MaintenanceWindowMonitor.monitor_id)
        ):
            ids[window_id].append(monitor_id)
    return ids


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
    """All the user's windows, by name (at most ``maintenance.max_windows_per_user``)."""
    return list(
        await session.scalars(
            select(MaintenanceWindow)
            .where(MaintenanceWindow.user_id == user_id)
            .order_by(MaintenanceWindow.name, MaintenanceWindow.id)
        )
    )


def covering(monitor_ids, since, *conditions):
    """(window, one of ``monitor_ids`` it lists or None) for the windows that meet ``conditions`` and are
    weekly or not over by ``since``."""
    link = MaintenanceWindowMonitor
    return (
        select(MaintenanceWindow, link.monitor_id)
        .outerjoin(link, (link.window_id == MaintenanceWindow.id) & link.monitor_id.in_(monitor_ids))
        .where(*conditions, or_(MaintenanceWindow.kind == "weekly", MaintenanceWindow.ends_at > since))
    )


#: a column of a monitor row: whether its owner has a maintenance window at all (no lookup for those who have
#: none, the most); read by a locking SELECT, it locks no window (MySQL and MariaDB lock no subquery's rows)
WINDOWED = exists().where(MaintenanceWindow.__table__.c.user_id == Monitor.__table__.c.user_id).label("windowed")


async def windows_of(session: AsyncSession, rows: Iterable[Any], since: datetime.datetime) -> dict[int, list[Any]]:
    """{monitor id: [windows]} for monitor rows (with id, user_id and WINDOWED): the windows that list them and
    their owners' windows of all monitors, weekly or not over by ``since``."""
    rows = [r for r in rows if r.windowed]
    if not rows:
        return {}
    found = await session.execute(
        covering(
            {r.id for r in rows},
            since,
            or_(
                MaintenanceWindowMonitor.monitor_id.is_not(None),
                MaintenanceWindow.all_monitors & MaintenanceWindow.user_id.in_({r.user_id for r in rows}),
            ),
        )
    )
    windows = {r.id: [] for r in rows}
    everyone = []
    for window, monitor_id in found:
        if monitor_id is None:
            everyone.append(window)
        else:
            windows[monitor_id].append(window)
    for r in rows:
        windows[r.id] += [w for w in everyone if w.user_id == r.user_id]
    return windows
