"""What monitors can do, as coroutines over an AsyncSession: Core statements on the hot paths.  No HTTP here.

The hot paths are ``claim`` (the scheduler takes due monitors), ``record`` (check
results, state transitions, incidents and rollups, in one transaction) and the list
queries; they use Core statements and batches.  ORM objects serve single monitors.
"""

import bisect
import dataclasses
import datetime
import functools
import types
import uuid

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..accounts.service import check_room
from ..identity import token_hash
from ..maintenance import service as maintenance
from ..models import Channel, MonitorChannel, bulk, claims
from ..models.meta import utcnow
from ..models.monitor import (
    BUCKET_COLUMNS,
    LATENCY_BUCKETS,
    ROLLUP_COUNTERS,
    CheckResult,
    DailyRollup,
    HourlyRollup,
    Incident,
    Monitor,
    Ping,
    WriteError,
    with_recent,
)
from ..validation import Invalid, next_page
from .kinds import KINDS
from .state import Snapshot, step

monitors = Monitor.__table__
_INSERT = insert(monitors)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
#: a claim not settled by a result this long after the check's timeout is retaken by any process
RETAKE_MARGIN = datetime.timedelta(seconds=10)


# -- monitors ---------------------------------------------------------------------------


async def create_monitor(session, user_id, fields, limit=0, now=None):
    """A new monitor, PENDING (or PAUSED), first checked when its kind says (an active check: at a random
    moment within its first interval; a heartbeat: at its first deadline).

    One INSERT (Core); returns the new row, every column, as attributes.  accounts.service.TooMany when the
    user has ``limit`` monitors already (checked under the user's row lock: parallel creates cannot pass it).
    """
    now = now or utcnow()
    await check_room(session, user_id, monitors, limit, "monitors")
    row = types.SimpleNamespace(**fields)
    due = None if fields["paused"] else KINDS[fields["kind"]].first_due(row, now)
    values = {
        **fields,
        **ping_token(fields["kind"]),
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


def ping_token(kind):
    """A new heartbeat's ping token and the hash it is found by ({} for other kinds, which are not pinged)."""
    if kind != "heartbeat":
        return {}
    token = str(uuid.uuid4())
    return {"ping_token": token, "ping_hash": token_hash(token)}


#: fields whose change moves a heartbeat's deadline
SCHEDULE = ("kind", "interval", "grace", "cron", "timezone")


async def update_monitor(session, monitor, changes, now=None):
    """Apply validated ``changes``; pausing stops checks, resuming checks again soon (as PENDING)."""
    now = now or utcnow()
    for name, value in changes.items():
        setattr(monitor, name, value)
    if monitor.kind == "heartbeat" and monitor.ping_token is None:
        for name, value in ping_token("heartbeat").items():
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
            monitor.due_at = monitor.next_check_at = KINDS[monitor.kind].first_due(monitor, now, soon=True)
    elif not monitor.paused and monitor.kind == "heartbeat" and any(name in changes for name in SCHEDULE):
        # the deadline counts from the last ping (or from now, for a monitor that was not a heartbeat)
        pinged = monitor.last_check_at if "kind" not in changes and monitor.last_check_at else now
        monitor.next_check_at = KINDS["heartbeat"].deadline(monitor, pinged)
        if monitor.claimed_by is None:
            monitor.due_at = monitor.next_check_at
    elif (
        not monitor.paused
        and monitor.next_check_at
        and monitor.next_check_at > now + datetime.timedelta(seconds=monitor.interval)
    ):
        monitor.next_check_at = now + datetime.timedelta(seconds=monitor.interval)  # a shorter interval
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


def hour_of(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def day_of(moment):
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


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


# -- the scheduler's claims --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Claim:
    """A due monitor taken by one process: check it at ``start_at`` (``due_at`` was its time)."""

    monitor_id: int
    due_at: datetime.datetime
    start_at: datetime.datetime
    row: object  # what the check needs of the monitor (checker.Target.of reads it)

    @property
    def retaken(self):
        """Whether another process's claim on it ran out (that process may have checked it)."""
        return self.row.claimed_by is not None


#: what a check needs of a monitor: the common columns and every kind's own
CLAIM_COLUMNS = tuple(
    monitors.c[name]
    for name in dict.fromkeys(
        (
            "id",
            "user_id",
            "kind",
            "interval",
            "timeout",
            "degraded_ms",
            "tls_days",
            "due_at",
            "next_check_at",
            "claimed_by",
            *(field for kind in KINDS.values() for field in kind.fields),
        )
    )
)
_DUE = (
    select(*CLAIM_COLUMNS)
    .where(Monitor.due_at <= bindparam("until"), Monitor.user_id.not_in(bindparam("busy", expanding=True)))
    .order_by(Monitor.due_at)
)
_TABLE = Monitor.__table__


async def claim(session, owner, limit, horizon, per_owner=None, running=None, now=None):
    """Take up to ``limit`` monitors due before ``now + horizon``, in one short transaction of the caller's
    (models.claims.take): (the claims, whether ``limit`` rows were read: more may be due).

    ``per_owner``: how many checks of one owner the caller may have at once (None: any number), of which
    ``running`` ({user_id: count}) it has; an owner at the limit is not read at all, so one owner's many
    slow monitors wait for their own slots, not everyone's.  A claimed row's ``due_at`` becomes the time
    its claim runs out (then any process retakes it); its ``next_check_at`` stays the time it was due,
    for ``record`` to move on.
    """
    now = now or utcnow()
    running = running or {}
    busy, pick = [], None
    if per_owner is not None:
        busy = [user_id for user_id, count in running.items() if count >= per_owner]
        # each owner within per_owner of the checks that start now (late, or retaken); those due later start
        # at their time, spread as their owner set them
        pick = functools.partial(
            claims.shared_fairly,
            shares=[(claims.BY_OWNER, per_owner, running)],
            exempt=lambda row: _start(row, now) > now,
        )

    def retake(rows):
        last_start = max(_start(row, now) for row in rows)
        return last_start + datetime.timedelta(seconds=max(row.timeout for row in rows)) + RETAKE_MARGIN

    read, taken = await claims.take(
        session, _DUE.limit(limit), _TABLE, owner, retake, {"until": now + horizon, "busy": busy}, pick
    )
    return [Claim(row.id, row.due_at, _start(row, now), row) for row in taken], len(read) == limit


async def still_claimed(session, owner, monitor_ids):
    """Of ``monitor_ids``, those still claimed by ``owner``: not deleted, paused or retaken since."""
    return set(
        await session.scalars(select(Monitor.id).where(Monitor.id.in_(monitor_ids), Monitor.claimed_by == owner))
    )


def _start(row, now):
    """When a claimed row is checked: at its time, or at once when it is late.  A claim that ran out (its
    process stopped, or could not write the result: the check may have run) is checked again half an
    interval after its time at the soonest, so that no two checks run closer than that, and never before
    the claim has run out (its ``due_at``: a row is claimed up to HORIZON before it is due)."""
    if row.claimed_by is None:
        return max(row.due_at, now)
    scheduled = row.next_check_at or row.due_at
    return max(now, row.due_at, scheduled + datetime.timedelta(seconds=row.interval / 2))


# -- recording results --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A check to record: by the scheduler (``owner`` of the claim) or in a request (owner None)."""

    monitor_id: int
    result: object  # state.Result
    owner: str | None = None
    storm: bool = False  # failed in a storm: its DOWN alert goes out grouped with the others'
    due: datetime.datetime | None = None  # a heartbeat's ping: its next deadline (any claim on it ends)
    retaken: bool = False  # the scheduler's check of a claim it took over: the schedule starts again from it


#: what recording a result needs of its monitor's row: table columns, so the statements that read them are Core
#: (an ORM-enabled select costs a compile state on every run)
STATE_COLUMNS = (
    *(
        monitors.c[name]
        for name in (
            "id user_id state state_since fail_streak pass_streak streak_started_at streak_error failures_to_down "
            "successes_to_up interval kind grace cron timezone claimed_by due_at next_check_at last_check_at version "
            "recent"
        ).split()
    ),
    maintenance.WINDOWED,
)
RECORDED = (
    "state",
    "state_since",
    "fail_streak",
    "pass_streak",
    "streak_started_at",
    "streak_error",
    "last_check_at",
    "last_ok",
    "last_status_code",
    "last_latency_ms",
    "last_error",
    "recent",
    "due_at",
    "next_check_at",
    "claimed_by",
    "version",
)
#: one monitor row moved on by a result, if nobody else moved it since it was read (compare-and-swap); on
#: MySQL, where the rows are locked, a batch's rows in one statement (models.bulk)
_RECORD_KEYS = {"id": "row_id", "version": "seen_version"}
_RECORD_VALUES = {name: f"new_{name}" for name in RECORDED}


def new_values(row, outcome, change):
    """The row's values after ``outcome`` (RECORDED, by name)."""
    result = outcome.result
    values = {
        "state": change.state,
        "state_since": result.at if change.flipped else row.state_since,
        "fail_streak": change.fail_streak,
        "pass_streak": change.pass_streak,
        "streak_started_at": change.streak_started_at,
        "streak_error": change.streak_error,
        "last_check_at": result.at,
        "last_ok": result.ok,
        "last_status_code": result.status_code,
        "last_latency_ms": result.latency_ms,
        "last_error": result.error,
        "recent": with_recent(row.recent, result),
        "due_at": row.due_at,
        "next_check_at": row.next_check_at,
        "claimed_by": row.claimed_by,
        "version": row.version + 1,
    }
    if outcome.due is not None and row.state != "PAUSED":  # a ping: the deadline moves on, a claim on it ends
        values["due_at"] = values["next_check_at"] = outcome.due
        values["claimed_by"] = None
    elif outcome.owner is not None:  # the scheduler's check: the claim ends, the next check is on the schedule
        # (after a takeover, one interval after the check that ran: the old slot's next may be seconds away)
        scheduled = result.at if outcome.retaken else row.next_check_at or row.due_at
        values["due_at"] = values["next_check_at"] = KINDS[row.kind].next_due(row, scheduled, result.at)
        values["claimed_by"] = None
    return values


def _params(row, after):
    """The parameters of the UPDATE (_RECORD_KEYS, _RECORD_VALUES) that moves ``row`` (as read) to ``after``."""
    return {"row_id": row.id, "seen_version": row.version, **{f"new_{name}": getattr(after, name) for name in RECORDED}}


async def record(session, outcomes, on_flips=(), rows=None, also=None):
    """Write check results in the caller's transaction: monitor rows, results, incidents, rollups.

    ``on_flips``: coroutine functions awaited in the same transaction with the results
    [(outcome, transition)] and {monitor id: when its closing incident started}, for what
    must be written with a state change (alerts' deliveries: ``Monitoring.on_flips``).

    Each monitor row moves by the state machine with a compare-and-swap on its
    ``version``: of two writers, one wins and the other recomputes from the winner's
    row.  On MySQL/MariaDB the rows are read ``FOR UPDATE`` (in id order, so batches do
    not deadlock) and written with one executemany; on SQLite each write is checked and
    a lost race read again.  Several outcomes of one monitor (a heartbeat's pings) are
    applied one after the other, and its row written once.  A scheduler's result whose claim was retaken meanwhile (or
    whose monitor was paused or deleted) is dropped.  Returns [(outcome, transition)].

    ``rows``: {monitor id: row} of the outcomes' monitors, STATE_COLUMNS at least, read already in this
    transaction (``FOR UPDATE`` on MySQL): they are not read again.

    ``also``: {monitor id: {column: value}}, the same columns for each monitor of ``outcomes``, written with
    its row when its outcomes are (a heartbeat's pings: one UPDATE of the row, not two).
    """
    locking = session.bind.dialect.name == "mysql"
    also = also or {}
    values_ = {**_RECORD_VALUES, **{column: f"also_{column}" for column in next(iter(also.values()), ())}}
    recorded = []
    pending = sorted(outcomes, key=lambda o: o.monitor_id)
    windows = None
    for _ in range(5):
        if not pending:
            break
        if rows is None:
            query = (
                select(*STATE_COLUMNS).where(monitors.c.id.in_({o.monitor_id for o in pending})).order_by(monitors.c.id)
            )
            rows = {row.id: row for row in (await session.execute(query.with_for_update() if locking else query)).all()}
        if windows is None:
            windows = await maintenance.windows_of(session, list(rows.values()), min(o.result.at for o in pending))
        steps = {}  # monitor id: ([(outcome, change)] in the order they came, the row's values after them)
        for outcome in pending:
            row = rows.get(outcome.monitor_id)
            if row is None:
                continue  # deleted meanwhile
            done, now = steps.get(row.id, ([], row))
            if outcome.owner is not None and (
                now.claimed_by != outcome.owner
                or now.last_check_at is not None
                and outcome.result.at < now.last_check_at
            ):
                # paused or retaken meanwhile, or this claim's result is written already; or the result of an
                # earlier claim of this process, kept while its database was away: others have checked since
                continue
            in_window = any(maintenance.active(w, outcome.result.at) for w in windows.get(row.id, ()))
            change = step(Snapshot.of(now), outcome.result, in_window)
            fields = vars(now) if isinstance(now, types.SimpleNamespace) else now._asdict()
            done.append((outcome, change))
            steps[row.id] = (done, types.SimpleNamespace(**{**fields, **new_values(now, outcome, change)}))
        round_ = [
            (done, {**_params(rows[m], after), **{f"also_{c}": v for c, v in also.get(m, {}).items()}})
            for m, (done, after) in steps.items()
        ]
        later = []
        if locking and round_:
            await bulk.update_each(session, _TABLE, _RECORD_KEYS, values_, [values for _, values in round_])
            recorded += [step_ for done, _ in round_ for step_ in done]
        else:
            for done, values in round_:
                if (await session.execute(bulk.plain(_TABLE, _RECORD_KEYS, values_), values)).rowcount == 1:
                    recorded += done
                else:
                    later += [o for o, _ in done]  # another writer came first: read its row again
        pending, rows = later, None
    await _write_history(session, recorded, on_flips)
    return recorded


async def _write_history(session, recorded, on_flips):
    if not recorded:
        return
    await session.execute(
        insert(CheckResult.__table__),
        [
            {
                "monitor_id": o.monitor_id,
                "at": o.result.at,
                "ok": o.result.ok,
                "slow": o.result.slow,
                "status_code": o.result.status_code,
                "latency_ms": o.result.latency_ms,
                "error": o.result.error,
            }
            for o, _ in recorded
        ],
    )
    down_since = await _incidents(session, recorded)
    for listener in on_flips:
        await listener(session, recorded, down_since)
    # a maintenance window does not count in uptime: its checks are stored, not rolled up
    await add_to_rollups(session, [o for o, c in recorded if c.state != "MAINTENANCE"])


async def _incidents(session, recorded):
    """Open and close the incidents of ``recorded``, in the order the flips came (a monitor may flip more than
    once in a batch): {monitor id: when the incident open before this batch, which its first UP closed,
    started} (an incident opened in the batch started at its transition's streak_started_at)."""
    flips = [(o, c) for o, c in recorded if c.opens_incident or c.closes_incident]
    if not flips:
        return {}
    ids = list({o.monitor_id for o, _ in flips})
    open_since = dict(  # the incidents open now, by monitor
        (
            await session.execute(
                select(Incident.monitor_id, Incident.started_at).where(
                    Incident.monitor_id.in_(ids), Incident.ended_at.is_(None)
                )
            )
        ).all()
    )
    new, ended, down_since = {}, {}, {}  # new: monitor id -> incidents opened here, the last maybe still open
    for o, c in flips:
        opened = new.get(o.monitor_id, [])
        if c.opens_incident and o.monitor_id not in open_since and not (opened and opened[-1]["ended_at"] is None):
            cause = c.streak_error or "failed"
            new.setdefault(o.monitor_id, []).append(
                {"monitor_id": o.monitor_id, "started_at": c.streak_started_at, "cause": cause, "ended_at": None}
            )
        elif c.closes_incident:
            if opened and opened[-1]["ended_at"] is None:
                opened[-1]["ended_at"] = o.result.at
            elif o.monitor_id in open_since:
                down_since[o.monitor_id] = open_since.pop(o.monitor_id)
                ended[o.monitor_id] = o.result.at
    for monitor_id, at in ended.items():
        await session.execute(
            update(Incident.__table__)
            .where(Incident.monitor_id == monitor_id, Incident.ended_at.is_(None))
            .values(ended_at=at)
        )
    rows = [incident for incidents in new.values() for incident in incidents]
    if rows:
        await session.execute(insert(Incident.__table__), rows)
    return down_since


def bucket_column(latency_ms):
    return BUCKET_COLUMNS[bisect.bisect_left(LATENCY_BUCKETS, latency_ms)]


async def add_to_rollups(session, outcomes):
    """Add the results to their hour's and day's rollups: one upsert statement per table."""
    for model, period_of in ((HourlyRollup, hour_of), (DailyRollup, day_of)):
        sums = {}
        for outcome in outcomes:
            result = outcome.result
            key = (outcome.monitor_id, period_of(result.at))
            row = sums.setdefault(key, dict.fromkeys(ROLLUP_COUNTERS, 0))
            row["checks"] += 1
            row["passes"] += result.ok
            row["slow"] += result.slow
            row["latency_sum"] += result.latency_ms
            row[bucket_column(result.latency_ms)] += 1
        rows = [{"monitor_id": m, "period": p, **counters} for (m, p), counters in sums.items()]
        await upsert_adding(session, model.__table__, rows)


_UPSERTS = {}


def adding_upsert(dialect, table):
    """INSERT a row; where its key exists, add its counters to the row's.  One statement per table, cached,
    run with many parameter sets (the driver batches them)."""
    key = (dialect, table.name)
    if key not in _UPSERTS:
        if dialect == "mysql":
            statement = mysql_insert(table)
            statement = statement.on_duplicate_key_update(
                {name: table.c[name] + statement.inserted[name] for name in ROLLUP_COUNTERS}
            )
        else:
            statement = sqlite_insert(table)
            statement = statement.on_conflict_do_update(
                index_elements=["monitor_id", "period"],
                set_={name: table.c[name] + statement.excluded[name] for name in ROLLUP_COUNTERS},
            )
        _UPSERTS[key] = statement
    return _UPSERTS[key]


async def upsert_adding(session, table, rows):
    if rows:
        await session.execute(adding_upsert(session.bind.dialect.name, table), rows)


# -- what the database would not store ---------------------------------------------------------

_WRITE_ERRORS = insert(WriteError.__table__)
WRITE_ERROR_LENGTH = WriteError.__table__.c.error.type.length


async def add_write_errors(session, errors):
    """Record ``errors`` [(monitor id, when, what: "ping" or "result", why)] for the monitors' owners to see."""
    if errors:
        await session.execute(
            _WRITE_ERRORS,
            [
                {"monitor_id": m, "at": at, "what": what, "error": why[:WRITE_ERROR_LENGTH]}
                for m, at, what, why in errors
            ],
        )


async def refuse(session, refused, owner):
    """Results of ``owner``'s checks [(Outcome, why)] that the database refused: recorded as errors on their
    monitors, and each claim that is still ``owner``'s ends, the next check on the monitor's schedule (the
    monitor is checked again then, not retaken and checked at once)."""
    await add_write_errors(session, [(o.monitor_id, o.result.at, "result", why) for o, why in refused])
    at = {o.monitor_id: o.result.at for o, _ in refused}
    rows = await session.execute(
        select(*STATE_COLUMNS).where(monitors.c.id.in_(at), monitors.c.claimed_by == owner).order_by(monitors.c.id)
    )
    moved = []
    for row in rows:
        due = KINDS[row.kind].next_due(row, row.next_check_at or row.due_at, at[row.id])
        moved.append({"row_id": row.id, "seen_owner": owner, "due": due})
    if moved:
        await session.execute(_RELEASE, moved)


_RELEASE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.claimed_by == bindparam("seen_owner"))
    .values(claimed_by=None, due_at=bindparam("due"), next_check_at=bindparam("due"), version=_TABLE.c.version + 1)
)


async def list_write_errors(session, monitor_id, limit=20):
    """The monitor's latest write errors, newest first."""
    query = select(WriteError).where(WriteError.monitor_id == monitor_id).order_by(WriteError.id.desc()).limit(limit)
    return list(await session.scalars(query))


# -- retention --------------------------------------------------------------------------------


async def prune(session, raw_before, hourly_before, chunk=5000):
    """Delete raw results, pings and write errors older than ``raw_before`` and hourly rollups older than ``hourly_before``, a
    chunk at a time (no long lock).  Returns how many rows went; call it until it returns 0."""
    gone = 0
    for table in (CheckResult, Ping, WriteError):
        ids = list(await session.scalars(select(table.id).where(table.at < raw_before).limit(chunk)))
        if ids:
            gone += (await session.execute(delete(table).where(table.id.in_(ids)))).rowcount
    if not gone:  # an hour's rows per monitor age out per hour: few enough for one statement
        gone += (await session.execute(delete(HourlyRollup).where(HourlyRollup.period < hourly_before))).rowcount
    return gone
