"""Recording what checks found, in the caller's transaction: monitor rows moved by the state machine,
results, incidents, rollups; what the database refused; retention.  Core statements and batches.

The scheduler, pings and checks a user asks for all record through ``record`` (``Monitoring.record``
tells the flip listeners too).
"""

import bisect
import dataclasses
import datetime
import types
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..maintenance import service as maintenance
from ..models import bulk
from ..models.meta import dialect, length_of, table_of
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
from .kinds import KINDS
from .state import Result, Snapshot, Transition, step

monitors = table_of(Monitor)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def hour_of(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A check to record: by the scheduler (``owner`` of the claim) or in a request (owner None)."""

    monitor_id: int
    result: Result
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


def new_values(row: Any, outcome: Outcome, change: Transition) -> dict[str, Any]:
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


def _params(row: Any, after: Any) -> dict[str, Any]:
    """The parameters of the UPDATE (_RECORD_KEYS, _RECORD_VALUES) that moves ``row`` (as read) to ``after``."""
    return {"row_id": row.id, "seen_version": row.version, **{f"new_{name}": getattr(after, name) for name in RECORDED}}


#: what recording wrote: [(outcome, the transition it made)]
Recorded = list[tuple[Outcome, Transition]]
#: awaited in the transaction of a state change, with what was recorded and {monitor id: when its closing
#: incident started} (alerts write their deliveries there)
FlipListener = Callable[[AsyncSession, Recorded, dict[int, datetime.datetime]], Awaitable[None]]


async def record(
    session: AsyncSession,
    outcomes: Iterable[Outcome],
    on_flips: Sequence[FlipListener] = (),
    rows: dict[int, Any] | None = None,
    also: dict[int, dict[str, Any]] | None = None,
) -> Recorded:
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
    locking = dialect(session) == "mysql"
    also = also or {}
    values_ = {**_RECORD_VALUES, **{column: f"also_{column}" for column in next(iter(also.values()), ())}}
    recorded: Recorded = []
    pending = sorted(outcomes, key=lambda o: o.monitor_id)
    windows: dict[int, list[Any]] | None = None
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
        steps: dict[
            int, tuple[Recorded, Any]
        ] = {}  # monitor id: ([(outcome, change)] in the order they came, the row's values after them)
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
            await bulk.update_each(session, monitors, _RECORD_KEYS, values_, [values for _, values in round_])
            recorded += [step_ for done, _ in round_ for step_ in done]
        else:
            for done, values in round_:
                if await bulk.changed(session, bulk.plain(monitors, _RECORD_KEYS, values_), values) == 1:
                    recorded += done
                else:
                    later += [o for o, _ in done]  # another writer came first: read its row again
        pending, rows = later, None
    await _write_history(session, recorded, on_flips)
    return recorded


async def _write_history(session: AsyncSession, recorded: Recorded, on_flips: Sequence[FlipListener]) -> None:
    if not recorded:
        return
    await session.execute(
        insert(table_of(CheckResult)),
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


async def _incidents(session: AsyncSession, recorded: Recorded) -> dict[int, datetime.datetime]:
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
    new: dict[int, list[dict[str, Any]]] = {}  # monitor id -> incidents opened here, the last maybe still open
    ended: dict[int, datetime.datetime] = {}
    down_since: dict[int, datetime.datetime] = {}
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
            update(table_of(Incident))
            .where(Incident.monitor_id == monitor_id, Incident.ended_at.is_(None))
            .values(ended_at=at)
        )
    rows = [incident for incidents in new.values() for incident in incidents]
    if rows:
        await session.execute(insert(table_of(Incident)), rows)
    return down_since


def bucket_column(latency_ms: int) -> str:
    return BUCKET_COLUMNS[bisect.bisect_left(LATENCY_BUCKETS, latency_ms)]


async def add_to_rollups(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Add the results to their hour's and day's rollups: one upsert statement per table."""
    for model, period_of in ((HourlyRollup, hour_of), (DailyRollup, day_of)):
        sums: dict[tuple[int, datetime.datetime], dict[str, int]] = {}
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
        await upsert_adding(session, table_of(model), rows)


_UPSERTS: dict[tuple[str, str], Any] = {}


def adding_upsert(dialect: str, table: Table) -> Any:
    """INSERT a row; where its key exists, add its counters to the row's.  One statement per table, cached,
    run with many parameter sets (the driver batches them)."""
    key = (dialect, table.name)
    if key not in _UPSERTS:
        if dialect == "mysql":
            mysql = mysql_insert(table)
            _UPSERTS[key] = mysql.on_duplicate_key_update(
                {name: table.c[name] + mysql.inserted[name] for name in ROLLUP_COUNTERS}
            )
        else:
            sqlite = sqlite_insert(table)
            _UPSERTS[key] = sqlite.on_conflict_do_update(
                index_elements=["monitor_id", "period"],
                set_={name: table.c[name] + sqlite.excluded[name] for name in ROLLUP_COUNTERS},
            )
    return _UPSERTS[key]


async def upsert_adding(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(adding_upsert(dialect(session), table), rows)


# -- what the database would not store ---------------------------------------------------------

_WRITE_ERRORS = insert(table_of(WriteError))
WRITE_ERROR_LENGTH = length_of(table_of(WriteError).c.error)


async def add_write_errors(session: AsyncSession, errors: Sequence[tuple[int, datetime.datetime, str, str]]) -> None:
    """Record ``errors`` [(monitor id, when, what: "ping" or "result", why)] for the monitors' owners to see."""
    if errors:
        await session.execute(
            _WRITE_ERRORS,
            [
                {"monitor_id": m, "at": at, "what": what, "error": why[:WRITE_ERROR_LENGTH]}
                for m, at, what, why in errors
            ],
        )


async def refuse(session: AsyncSession, refused: Sequence[tuple[Outcome, str]], owner: str) -> None:
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
    update(monitors)
    .where(monitors.c.id == bindparam("row_id"), monitors.c.claimed_by == bindparam("seen_owner"))
    .values(claimed_by=None, due_at=bindparam("due"), next_check_at=bindparam("due"), version=monitors.c.version + 1)
)


# -- retention --------------------------------------------------------------------------------


async def prune(
    session: AsyncSession, raw_before: datetime.datetime, hourly_before: datetime.datetime, chunk: int = 5000
) -> int:
    """Delete raw results, pings and write errors older than ``raw_before`` and hourly rollups older than ``hourly_before``, a
    chunk at a time (no long lock).  Returns how many rows went; call it until it returns 0."""
    gone = 0
    for table in (CheckResult, Ping, WriteError):
        ids = list(await session.scalars(select(table.id).where(table.at < raw_before).limit(chunk)))
        if ids:
            gone += await bulk.changed(session, delete(table).where(table.id.in_(ids)))
    if not gone:  # an hour's rows per monitor age out per hour: few enough for one statement
        gone += await bulk.changed(session, delete(HourlyRollup).where(HourlyRollup.period < hourly_before))
    return gone
