"""What the dashboard's pages read: Core statements, bounded by the page, not by the number of monitors."""

import datetime
import json

from sqlalchemy import Integer, String, case, cast, func, literal, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..checks.kinds import ADDRESS_FIELDS
from ..checks.results import DAY, HOUR, day_of, hour_of
from ..models import CheckResult, DailyRollup, HourlyRollup, Incident, Monitor
from ..models.meta import Moment, utcnow
from ..validation import next_page
from .charts import Point
from .service import monitors

#: the dashboard shows what needs attention first
STATE_ORDER = {"DOWN": 0, "DEGRADED": 1, "PENDING": 2, "UP": 3, "MAINTENANCE": 4, "PAUSED": 5}
ROW_COLUMNS = (
    Monitor.id,
    Monitor.name,
    *(Monitor.__table__.c[name] for name in ADDRESS_FIELDS),
    Monitor.state,
    Monitor.state_since,
    Monitor.last_check_at,
    Monitor.last_ok,
    Monitor.last_status_code,
    Monitor.last_latency_ms,
    Monitor.last_error,
    Monitor.degraded_ms,
    Monitor.recent,
    Monitor.tags,
)
RANGES = {
    "1h": datetime.timedelta(hours=1),
    "6h": datetime.timedelta(hours=6),
    "24h": datetime.timedelta(hours=24),
    "7d": datetime.timedelta(days=7),
    "30d": datetime.timedelta(days=30),
}
#: the ranges drawn from raw results, in this many slots (10 s, 1 min, 4 min); longer ones from hourly rollups
RAW_RANGES = ("1h", "6h", "24h")
SLOTS = 360


class has_tag(FunctionElement):
    """``has_tag(tags, tag)``: the monitor's JSON list of tags holds exactly ``tag``."""

    type = Integer()
    inherit_cache = True


@compiles(has_tag, "mysql")
@compiles(has_tag, "mariadb")
def _has_tag_mysql(element, compiler, **kw):
    # JSON_TABLE reads each tag unescaped ("caf\\u00e9" is café: JSON_CONTAINS compares the escapes), and the
    # comparison is exact, as SQLite's, rather than the column's case- and accent-blind collation
    tags, tag = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM JSON_TABLE({tags}, '$[*]' COLUMNS (tag VARCHAR(64) CHARACTER SET utf8mb4"
        f" COLLATE utf8mb4_bin PATH '$')) AS monitor_tags WHERE monitor_tags.tag = {tag})"
    )


@compiles(has_tag, "sqlite")
def _has_tag_sqlite(element, compiler, **kw):
    tags, tag = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_each({tags}) WHERE json_each.value = {tag})"


#: the monitors table's columns: statements built per request from them are Core (an ORM-enabled select pays a
#: compile state on every run; GET /api/monitors 3.5 % more instructions, measured with bench.instructions)
_M = monitors.c


def tagged(tag):
    """The monitor has exactly the tag ``tag``.  Its tags are stored as JSON text (json.dumps, as
    SQLAlchemy writes them), so ``"tag"`` as written there must occur in it: a LIKE that spares
    has_tag's parse to all but the few that might (10,000 monitors: 16 ms rather than 55 on MariaDB)."""
    written = type_coerce(_M.tags, String).contains(json.dumps(tag), autoescape=True)
    return written & (has_tag(_M.tags, literal(tag, String)) == 1)


def filtered(query, user_id, state=None, text=None, tag=None):
    """The user's monitors in ``state``, whose name or address holds ``text`` (or tagged ``text``), tagged ``tag``."""
    query = query.where(_M.user_id == user_id)
    if state:
        query = query.where(_M.state == state)
    if text:
        query = query.where(
            _M.name.contains(text, autoescape=True)
            | _M.url.contains(text, autoescape=True)
            | _M.host.contains(text, autoescape=True)
            | tagged(text)
        )
    if tag:
        query = query.where(tagged(tag))
    return query


async def list_monitors(session, user_id, columns, limit, after_id=None, state=None, text=None, tag=None):
    """The user's monitors by id, ``limit`` at a time after ``after_id``, filtered as the dashboard filters them:
    (rows of ``columns``, next cursor or None).

    Rows of the columns asked for (of ``monitors``, the table), not ORM objects: a page reads what it shows.
    """
    query = filtered(select(*columns), user_id, state, text, tag).order_by(_M.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(_M.id > after_id)
    return next_page(list(await session.execute(query)), limit)


async def dashboard(session, user_id, page, per_page, state=None, text=None, tag=None):
    """(rows of this page, how many match, counts by state of all the user's monitors).

    The page is read state by state, in name order, straight from the (user, state, name)
    index: a sort of 10,000 rows by a CASE over the state costs 9 ms on MariaDB, a state's
    slice of the index a fraction of one.  Counting the matches by state says which
    states this page's slice falls in.
    """
    matches = dict(
        (
            await session.execute(
                filtered(select(Monitor.state, func.count()), user_id, state, text, tag).group_by(Monitor.state)
            )
        ).all()
    )
    if state is None and text is None and tag is None:
        counts = matches
    else:
        counts = dict(
            (
                await session.execute(
                    select(Monitor.state, func.count()).where(Monitor.user_id == user_id).group_by(Monitor.state)
                )
            ).all()
        )
    rows, skip, wanted = [], (page - 1) * per_page, per_page
    for name in STATE_ORDER:
        found = matches.get(name, 0)
        if skip >= found:
            skip -= found
            continue
        rows += (
            await session.execute(
                filtered(select(*ROW_COLUMNS), user_id, name, text, tag)
                .order_by(Monitor.name, Monitor.id)
                .offset(skip)
                .limit(min(wanted, found - skip))
            )
        ).all()
        wanted -= min(wanted, found - skip)
        skip = 0
        if not wanted:
            break
    return rows, sum(matches.values()), {name: counts.get(name, 0) for name in STATE_ORDER}


class slot_of(FunctionElement):
    """``slot_of(start, at, seconds)``: the whole number of ``seconds``-long slots from ``start`` to
    ``at`` (``at >= start``), computed by the database, so a day of results comes back as 360 rows
    of integers rather than 1,440 or more rows of datetimes for the driver to convert."""

    type = Integer()
    inherit_cache = True


@compiles(slot_of, "mysql")
@compiles(slot_of, "mariadb")
def _slot_of_mysql(element, compiler, **kw):
    start, at, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {at}) DIV ({seconds} * 1000000))"


@compiles(slot_of, "sqlite")
def _slot_of_sqlite(element, compiler, **kw):
    start, at, seconds = (compiler.process(c, **kw) for c in element.clauses)
    # whole milliseconds first: julianday() is a float, and 240 s may come out as 239.99999 s
    return f"(CAST(ROUND((julianday({at}) - julianday({start})) * 86400000.0) AS INTEGER) / ({seconds} * 1000))"


async def latency_points(session, monitor_id, range_, now=None):
    """(points, start, end) of a monitor's latency chart: raw results in 360 slots up to 24 h (10 s each
    for an hour, 4 min for a day), hourly rollups beyond."""
    now = now or utcnow()
    start = now - RANGES[range_]
    if range_ in RAW_RANGES:
        seconds = int(RANGES[range_].total_seconds()) // SLOTS
        results = (
            select(
                slot_of(literal(start, Moment), CheckResult.at, literal(seconds, Integer)).label("slot"),
                case((CheckResult.ok, 1), else_=0).label("passed"),
                case((CheckResult.ok, CheckResult.latency_ms), else_=0).label("latency"),
            )
            .where(CheckResult.monitor_id == monitor_id, CheckResult.at >= start)
            .subquery()
        )
        rows = await session.execute(
            select(results.c.slot, func.count(), func.sum(results.c.passed), func.sum(results.c.latency))
            .group_by(results.c.slot)
            .order_by(results.c.slot)
        )
        width = datetime.timedelta(seconds=seconds)
        points = [
            Point(
                start + width * (index + 0.5),
                int(latency) / int(passes) if passes else None,
                checks - int(passes),
                checks,
            )
            for index, checks, passes, latency in rows
        ]
        return points, start, now
    start = hour_of(start)
    rows = await session.execute(
        select(HourlyRollup.period, HourlyRollup.checks, HourlyRollup.passes, HourlyRollup.latency_sum)
        .where(HourlyRollup.monitor_id == monitor_id, HourlyRollup.period >= start)
        .order_by(HourlyRollup.period)
    )
    points = [
        Point(period + HOUR / 2, latency_sum / checks if checks else None, checks - passes, checks)
        for period, checks, passes, latency_sum in rows
    ]
    return points, start, now


async def monitor_names(session, user_id, monitor_ids):
    """{id: name} of those of ``monitor_ids`` that are the user's."""
    if not monitor_ids:
        return {}
    rows = await session.execute(
        select(Monitor.id, Monitor.name).where(Monitor.user_id == user_id, Monitor.id.in_(sorted(monitor_ids)))
    )
    return dict(rows.all())


async def down_periods(session, monitor_id, start):
    """(started, ended or None) of the monitor's incidents that overlap the time since ``start``."""
    rows = await session.execute(
        select(Incident.started_at, Incident.ended_at)
        .where(Incident.monitor_id == monitor_id, (Incident.ended_at.is_(None)) | (Incident.ended_at >= start))
        .order_by(Incident.started_at)
    )
    return [tuple(row) for row in rows]


async def daily_bars(session, monitor_ids, days=90, now=None):
    """{monitor id: [("YYYY-MM-DD", % or None)] * days}, oldest first, from the daily rollups.

    One row per monitor, its days joined into one string by the database ("day passes
    checks,..."): a status page of 50 monitors would otherwise be 4,500 rows, and reading
    rows through the driver cost more than all the rest of the page.
    """
    today = day_of(now or utcnow())
    first = today - (days - 1) * DAY
    labels = [f"{first + n * DAY:%Y-%m-%d}" for n in range(days)]
    found = {}
    if monitor_ids:
        entry = (
            func.substr(cast(DailyRollup.period, String), 1, 10)
            + " "
            + cast(DailyRollup.passes, String)
            + " "
            + cast(DailyRollup.checks, String)
        )
        rows = await session.execute(
            select(DailyRollup.monitor_id, func.aggregate_strings(entry, ","))
            .where(DailyRollup.monitor_id.in_(monitor_ids), DailyRollup.period >= first)
            .group_by(DailyRollup.monitor_id)
        )
        for monitor_id, joined in rows:
            for day, passes, checks in (item.split(" ") for item in joined.split(",")):
                found[(monitor_id, day)] = round(100 * int(passes) / int(checks), 2) if checks != "0" else None
    return {m: [(label, found.get((m, label))) for label in labels] for m in monitor_ids}
