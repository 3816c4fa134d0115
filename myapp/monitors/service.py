"""What a user does with monitors, as coroutines over an AsyncSession: create, change, delete, link channels,
read history and uptime.  No HTTP here.  What checks write is myapp.checks' (claims, results).

The list queries are Core statements (queries.py has the pages'); ORM objects serve single monitors.
"""

import types

from sqlalchemy import bindparam, case, delete, func, insert, select

from ..accounts.service import check_room
from ..checks.kinds import KINDS
from ..checks.results import DAY, HOUR, day_of, hour_of
from ..models import Channel, MonitorChannel
from ..models.meta import utcnow
from ..models.monitor import (
    CheckResult,
    DailyRollup,
    HourlyRollup,
    Incident,
    Monitor,
    Ping,
    WriteError,
)
from ..validation import Invalid, next_page

monitors = Monitor.__table__
_INSERT = insert(monitors)


# -- monitors ---------------------------------------------------------------------------


async def create_monitor(session, user_id, fields, limit=0, now=None):
    """A new monitor, PENDING (or PAUSED), first checked when its kind says (an active check: at a random
    moment within its first interval; a heartbeat: at its first deadline).

    One INSERT (Core); returns the new row, every column, as attributes.  accounts.service.TooMany when the
    user has ``limit`` monitors already (checked under the user's row lock: parallel creates cannot pass it).
    """
    now = now or utcnow()
    await check_room(session, user_id, monitors, limit, "monitors")
    row, kind = types.SimpleNamespace(**fields), KINDS[fields["kind"]]
    due = None if fields["paused"] else kind.first_due(row, now)
    values = {
        **fields,
        **kind.own_fields(row),
        "user_id": user_id,
        "state": "PAUSED" if fields["paused"] else "PENDING",
        "state_since": now,
        "created_at": now,
        "updated_at": now,
        "version": 0,
        "fail_streak": 0,
        "pass_streak": 0,
        "recent": "",
        "due_at": due,
        "next_check_at": due,
    }
    result = await session.execute(_INSERT, values)
    return types.SimpleNamespace(**{**dict.fromkeys(monitors.c.keys()), **values, "id": result.inserted_primary_key[0]})


async def update_monitor(session, monitor, changes, now=None):
    """Apply validated ``changes``; pausing stops checks, resuming checks again soon (as PENDING)."""
    now = now or utcnow()
    for name, value in changes.items():
        setattr(monitor, name, value)
    kind = KINDS[monitor.kind]
    for name, value in kind.own_fields(monitor).items():
        setattr(monitor, name, value)
    if "paused" in changes and changes["paused"] != (monitor.state == "PAUSED"):
        monitor.fail_streak = monitor.pass_streak = 0
        monitor.streak_started_at = monitor.streak_error = None
        monitor.state_since = now
        monitor.claimed_by = None
        if changes["paused"]:
            monitor.state = "PAUSED"
            monitor.due_at = monitor.next_check_at = None
        else:
            monitor.state = "PENDING"
            monitor.due_at = monitor.next_check_at = kind.first_due(monitor, now, soon=True)
    elif not monitor.paused and (due := kind.rescheduled(monitor, changes, now)) is not None:
        monitor.next_check_at = due
        if monitor.claimed_by is None:
            monitor.due_at = monitor.next_check_at
    monitor.version += 1
    monitor.updated_at = now
    await session.flush()
    return monitor


async def monitors_of(session, user_id, monitor_ids):
    """Those of ``monitor_ids`` that are the user's, by name."""
    query = select(Monitor).where(Monitor.user_id == user_id, Monitor.id.in_(monitor_ids)).order_by(Monitor.name)
    return list(await session.scalars(query))


async def delete_monitor(session, monitor):
    """The monitor and its history (results, incidents, rollups go with it, by the foreign keys)."""
    for table in (
        CheckResult,
        Incident,
        HourlyRollup,
        DailyRollup,
        Ping,
        WriteError,
    ):  # SQLite without foreign keys too
        await session.execute(delete(table).where(table.monitor_id == monitor.id))
    await session.delete(monitor)
    await session.flush()


# -- the channels a monitor alerts --------------------------------------------------------------

_LINKS = MonitorChannel.__table__.c
_CHANNELS_OF = (
    select(_LINKS.monitor_id, _LINKS.channel_id)
    .where(_LINKS.monitor_id.in_(bindparam("ids", expanding=True)))
    .order_by(_LINKS.channel_id)
)


async def channels_of(session, monitor_ids):
    """{monitor id: [channel ids]} for these monitors (each present, maybe empty)."""
    found = {m: [] for m in monitor_ids}
    if monitor_ids:
        for monitor_id, channel_id in await session.execute(_CHANNELS_OF, {"ids": list(found)}):
            found[monitor_id].append(channel_id)
    return found


async def channel_choices(session, user_id):
    """The user's channels a monitor may alert: (id, name, kind, target) rows by name."""
    return (
        await session.execute(
            select(Channel.id, Channel.name, Channel.kind, Channel.target)
            .where(Channel.user_id == user_id)
            .order_by(Channel.name, Channel.id)
        )
    ).all()


async def check_channels(session, user_id, channel_ids):
    """Invalid unless every id is one of the user's channels."""
    if channel_ids:
        own = set(
            await session.scalars(select(Channel.id).where(Channel.user_id == user_id, Channel.id.in_(channel_ids)))
        )
        missing = [c for c in channel_ids if c not in own]
        if missing:
            raise Invalid({"channels": f"no such channel: {missing[0]}"})


async def set_channels(session, user_id, monitor_id, channel_ids, new=False):
    """The monitor alerts through exactly these channels, which must be the user's own (else Invalid).

    ``new``: the monitor was made in this transaction, so it has no channels to forget.
    """
    await check_channels(session, user_id, channel_ids)
    if not new:
        await session.execute(delete(MonitorChannel).where(MonitorChannel.monitor_id == monitor_id))
    if channel_ids:
        await session.execute(
            insert(MonitorChannel), [{"monitor_id": monitor_id, "channel_id": c} for c in channel_ids]
        )


# -- history ----------------------------------------------------------------------------


async def list_results(session, monitor_id, limit, before_id=None):
    """Newest first: (results, next cursor or None)."""
    query = (
        select(CheckResult).where(CheckResult.monitor_id == monitor_id).order_by(CheckResult.id.desc()).limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(CheckResult.id < before_id)
    return next_page(list(await session.scalars(query)), limit)


async def list_pings(session, monitor_id, limit, before_id=None):
    """A heartbeat's pings, newest first: (pings, next cursor or None)."""
    query = select(Ping).where(Ping.monitor_id == monitor_id).order_by(Ping.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(Ping.id < before_id)
    return next_page(list(await session.scalars(query)), limit)


async def list_incidents(session, user_id, limit, before_id=None, monitor_id=None, open_only=False):
    """The user's incidents (of one monitor, or all), newest first: (incidents, next cursor or None)."""
    query = (
        select(Incident)
        .join(Monitor, Monitor.id == Incident.monitor_id)
        .where(Monitor.user_id == user_id)
        .order_by(Incident.id.desc())
        .limit(limit + 1)
    )
    if monitor_id is not None:
        query = query.where(Incident.monitor_id == monitor_id)
    if open_only:
        query = query.where(Incident.ended_at.is_(None))
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return next_page(list(await session.scalars(query)), limit)


def percent(passes, checks):
    """Passes as a percentage of checks (MySQL's SUM is a Decimal), None without checks."""
    passes, checks = int(passes or 0), int(checks or 0)
    return round(100 * passes / checks, 3) if checks else None


_hourly, _daily = HourlyRollup.__table__.c, DailyRollup.__table__.c
# built once, with the monitors as an expanding parameter: a page of 50 builds no statement of its own
_UPTIME_24H = (
    select(_hourly.monitor_id, func.sum(_hourly.checks), func.sum(_hourly.passes))
    .where(_hourly.monitor_id.in_(bindparam("ids", expanding=True)), _hourly.period >= bindparam("since_24h"))
    .group_by(_hourly.monitor_id)
)
_RECENT = _daily.period >= bindparam("since_7d")
_UPTIME_DAYS = (
    select(
        _daily.monitor_id,
        func.sum(case((_RECENT, _daily.checks), else_=0)),
        func.sum(case((_RECENT, _daily.passes), else_=0)),
        func.sum(_daily.checks),
        func.sum(_daily.passes),
    )
    .where(_daily.monitor_id.in_(bindparam("ids", expanding=True)), _daily.period >= bindparam("since_30d"))
    .group_by(_daily.monitor_id)
)


async def uptimes(session, monitor_ids, now=None, daily=True):
    """{monitor id: {"24h": %, "7d": %, "30d": %}} from the rollups: two queries, whatever the history's size.

    ``daily=False`` (the dashboard shows 24 h only) skips the 7 d and 30 d query; they stay None.
    """
    found = {i: {"24h": None, "7d": None, "30d": None} for i in monitor_ids}
    if not monitor_ids:
        return found
    now = now or utcnow()
    ids = list(found)
    for monitor_id, checks, passes in await session.execute(
        _UPTIME_24H, {"ids": ids, "since_24h": hour_of(now) - 23 * HOUR}
    ):
        found[monitor_id]["24h"] = percent(passes, checks)
    if not daily:
        return found
    days = await session.execute(
        _UPTIME_DAYS, {"ids": ids, "since_7d": day_of(now) - 6 * DAY, "since_30d": day_of(now) - 29 * DAY}
    )
    for monitor_id, checks_7d, passes_7d, checks_30d, passes_30d in days:
        found[monitor_id]["7d"] = percent(passes_7d, checks_7d)
        found[monitor_id]["30d"] = percent(passes_30d, checks_30d)
    return found


async def list_write_errors(session, monitor_id, limit=20):
    """The monitor's latest write errors, newest first."""
    query = select(WriteError).where(WriteError.monitor_id == monitor_id).order_by(WriteError.id.desc()).limit(limit)
    return list(await session.scalars(query))
