"""What the dashboard's pages read: Core statements, bounded by the page, not by the number of monitors."""

import datetime

from sqlalchemy import case, func, select

from ..models import CheckResult, DailyRollup, HourlyRollup, Incident, Monitor
from ..models.meta import utcnow
from .charts import Point
from .service import DAY, HOUR, day_of, hour_of

#: the dashboard shows what needs attention first
STATE_ORDER = {"DOWN": 0, "DEGRADED": 1, "PENDING": 2, "UP": 3, "PAUSED": 4}
ROW_COLUMNS = (Monitor.id, Monitor.name, Monitor.url, Monitor.state, Monitor.state_since, Monitor.last_check_at,
               Monitor.last_ok, Monitor.last_status_code, Monitor.last_latency_ms, Monitor.last_error,
               Monitor.recent, Monitor.interval)
RANGES = {"24h": datetime.timedelta(hours=24), "7d": datetime.timedelta(days=7), "30d": datetime.timedelta(days=30)}
SLOTS_24H = 360  # four minutes a slot


def filtered(query, user_id, state=None, text=None):
    query = query.where(Monitor.user_id == user_id)
    if state:
        query = query.where(Monitor.state == state)
    if text:
        query = query.where(Monitor.name.contains(text, autoescape=True) | Monitor.url.contains(text, autoescape=True))
    return query


async def dashboard(session, user_id, page, per_page, state=None, text=None):
    """(rows of this page, how many match, counts by state of all the user's monitors)."""
    rank = case(STATE_ORDER, value=Monitor.state, else_=9)
    rows = (await session.execute(
        filtered(select(*ROW_COLUMNS), user_id, state, text)
        .order_by(rank, Monitor.name, Monitor.id).offset((page - 1) * per_page).limit(per_page)
    )).all()
    matching = await session.scalar(filtered(select(func.count()), user_id, state, text))
    counts = dict((await session.execute(
        select(Monitor.state, func.count()).where(Monitor.user_id == user_id).group_by(Monitor.state))).all())
    return rows, matching, {name: counts.get(name, 0) for name in STATE_ORDER}


async def latency_points(session, monitor_id, range_, now=None):
    """(points, start, end) of a monitor's latency chart: raw results for 24 h, hourly rollups beyond."""
    now = now or utcnow()
    start = now - RANGES[range_]
    if range_ == "24h":
        slot = RANGES["24h"] / SLOTS_24H
        rows = await session.execute(
            select(CheckResult.at, CheckResult.ok, CheckResult.latency_ms)
            .where(CheckResult.monitor_id == monitor_id, CheckResult.at >= start).order_by(CheckResult.id))
        slots = {}
        for at, ok, latency in rows:
            index = int((at - start) / slot)
            entry = slots.setdefault(index, [0, 0, 0])  # latency sum of passes, passes, failures
            if ok:
                entry[0] += latency
                entry[1] += 1
            else:
                entry[2] += 1
        points = [Point(start + slot * (i + 0.5), s[0] / s[1] if s[1] else None, s[2], s[1] + s[2])
                  for i, s in sorted(slots.items())]
        return points, start, now
    start = hour_of(start)
    rows = await session.execute(
        select(HourlyRollup.period, HourlyRollup.checks, HourlyRollup.passes, HourlyRollup.latency_sum)
        .where(HourlyRollup.monitor_id == monitor_id, HourlyRollup.period >= start).order_by(HourlyRollup.period))
    points = [Point(period + HOUR / 2, latency_sum / checks if checks else None, checks - passes, checks)
              for period, checks, passes, latency_sum in rows]
    return points, start, now


async def down_periods(session, monitor_id, start):
    """(started, ended or None) of the monitor's incidents that overlap the time since ``start``."""
    rows = await session.execute(
        select(Incident.started_at, Incident.ended_at).where(
            Incident.monitor_id == monitor_id, (Incident.ended_at.is_(None)) | (Incident.ended_at >= start))
        .order_by(Incident.started_at))
    return [tuple(row) for row in rows]


async def daily_bars(session, monitor_ids, days=90, now=None):
    """{monitor id: [(day, % or None)] * days}, oldest first, from the daily rollups: one query."""
    today = day_of(now or utcnow())
    first = today - (days - 1) * DAY
    found = {}
    if monitor_ids:
        rows = await session.execute(
            select(DailyRollup.monitor_id, DailyRollup.period, DailyRollup.checks, DailyRollup.passes)
            .where(DailyRollup.monitor_id.in_(monitor_ids), DailyRollup.period >= first))
        for monitor_id, period, checks, passes in rows:
            found[(monitor_id, period)] = round(100 * passes / checks, 2) if checks else None
    return {m: [(first + n * DAY, found.get((m, first + n * DAY))) for n in range(days)] for m in monitor_ids}
