"""Heartbeat pings: ``/ping/<token>`` (success), ``/start``, ``/fail`` and ``/<exit status>``, by GET, POST
or HEAD, from cron jobs, backups and anything that can fetch a URL.

Pings are unauthenticated by design (the token is the secret), so a ping costs little and says nothing:
the answer is "OK" (or 404, 429, 503), the token is found by its SHA-256 (no comparison an attacker could
time on the token itself), and a body is kept up to ``monitors.ping_body_bytes`` bytes as stored.

**OK means stored.**  A ping is answered once the transaction that writes it has committed: the view (a
plain one) hands it over and waits on its thread.  The service loop's writer (``monitors.ping_writers``, 1:
the largest batches) writes whatever has come for it in one transaction: the
monitors' results and deadlines (through ``Monitoring.record``), the start of a run, the pings themselves.
Pings that arrive together share one commit, so under load the batches grow, not the transactions.  A ping
that cannot be written (the database is away, the process stops) is answered 503 and not kept: the sender
sends it again.  A ping the database refuses for its own reason is answered 422, recorded on its monitor
(``write_errors``), and the rest of its batch is written (models.writes).

Limits: ``monitors.pings_per_minute`` per monitor, counted on the monitor's row (all processes together;
each process also stops a flood of one token before it reaches the database); ``monitors.pings_kept`` pings
per monitor, the oldest deleted as new ones come; ``monitors.ping_misses_per_minute`` unknown tokens per
client, and a token found unknown is answered 404 from memory for a minute.
"""

import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import datetime
import logging
import threading
import time
import types
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..aio import ShuttingDown
from ..identity import token_hash
from ..models import Monitor, Ping, bulk, in_session, writes
from ..models.meta import dialect, table_of, utcnow
from ..models.monitor import PING_BODY_MAX
from ..services import find
from ..settings import Field, Section
from . import results
from .kinds import KINDS, PINGED
from .results import Outcome, Recorded
from .state import Result

log = logging.getLogger(__name__)

BATCH = 200  # pings written in one transaction, at most (a longer batch would keep those waiting for it longer)
DEADLINE = 5.0  # seconds a batch's transaction may take: past it the database counts as away, and pings get 503
ANSWER_MARGIN = 0.25  # seconds before aio.timeout when a ping that waits for its write gets 503
RETRY_SECONDS = 1.0  # while the database is away, a writer tries again this often
RUN_LIMIT = datetime.timedelta(hours=24)  # a /start older than this is not the start of the run a ping ends
WINDOW = datetime.timedelta(minutes=1)  # monitors.pings_per_minute counts pings in windows this long
MISS_MEMORY = 60.0  # seconds a token found unknown is answered 404 without a lookup
MAX_MISSES = 100000  # unknown tokens remembered, at most
TOKEN = r"[0-9a-fA-F-]{36}"
EVENT = r"start|fail|25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]"  # an exit status: 0-255


class PingSettings(Section):
    per_minute: int = Field(30, alias="monitors.pings_per_minute", ge=1, description="per monitor, all processes")
    body_bytes: int = Field(10000, alias="monitors.ping_body_bytes", ge=0, le=PING_BODY_MAX)
    kept: int = Field(100, alias="monitors.pings_kept", ge=1, le=10000, description="per monitor, the newest")
    misses_per_minute: int = Field(
        20, alias="monitors.ping_misses_per_minute", ge=1, description="unknown tokens per client and process"
    )
    writers: int = Field(
        1,
        alias="monitors.ping_writers",
        ge=1,
        le=32,
        description="transactions at once, each a connection of the service loop",
    )


@dataclasses.dataclass
class Incoming:
    """A ping as it came, waiting for the writer."""

    token_hash: str
    event: str  # models.monitor.PING_EVENTS
    exit_status: int | None
    method: str
    source: str | None
    body: str | None
    at: datetime.datetime
    answer: "concurrent.futures.Future[str] | None" = None  # "ok", "missing", "limited", "refused" or "unwritten"

    def __repr__(self) -> str:
        return f"<ping {self.event} of {self.token_hash[:12]}... at {self.at:%H:%M:%S.%f}>"


#: what a ping needs of its monitor, and what recording its result does (read once, locked: results.record)
_MONITORS = results.monitors.c
COLUMNS = tuple(
    dict.fromkeys(
        (
            *results.STATE_COLUMNS,
            *(
                _MONITORS[name]
                for name in ("ping_hash", "paused", "run_started_at", "ping_seq", "ping_window_at", "ping_window_count")
            ),
        )
    )
)
_FIND = (
    select(*COLUMNS)
    .where(_MONITORS.ping_hash.in_(bindparam("hashes", expanding=True)), _MONITORS.kind.in_(PINGED))
    .order_by(_MONITORS.id)  # locked in id order, as record locks them: two writers never wait in a circle
)
_FIND_LOCKED = _FIND.with_for_update()
#: what a batch leaves of each monitor it pinged (models.bulk: one statement for the batch)
_PINGED = {
    "run_started_at": "started",
    "ping_seq": "seq",
    "ping_window_at": "window_at",
    "ping_window_count": "window_count",
}
_INSERT = insert(table_of(Ping))
_PRUNE = delete(table_of(Ping)).where(Ping.monitor_id == bindparam("monitor_id"), Ping.seq <= bindparam("last_gone"))


class Limiter:
    """At most ``count`` events a minute per key (a sliding window, in this process; request threads ask it)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen: dict[str, collections.deque[float]] = {}  # token hash: deque of monotonic times within the window
        self.lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Whether one more event of ``key`` is within the limit; it is counted if so."""
        with self.lock:
            return self._allow(key, time.monotonic() if now is None else now)

    def full(self, key: str, now: float | None = None) -> bool:
        """Whether ``key`` is at its limit now (nothing counted)."""
        with self.lock:
            return len(self._window(key, time.monotonic() if now is None else now)) >= self.count

    def _window(self, key: str, now: float) -> collections.deque[float]:
        times = self.seen.setdefault(key, collections.deque())
        while times and times[0] <= now - 60:
            times.popleft()
        return times

    def _allow(self, key: str, now: float) -> bool:
        times = self._window(key, now)
        if len(times) >= self.count:
            return False
        times.append(now)
        if len(self.seen) > 100000:  # forget tokens not pinged within the minute
            self.seen = {m: t for m, t in self.seen.items() if t and t[-1] > now - 60}
        return True


def run_time(ping: Incoming, started: datetime.datetime | None) -> int | None:
    """Milliseconds from the /start ``started`` to ``ping``, None without a start (or one too old)."""
    if started is None or not datetime.timedelta(0) <= ping.at - started <= RUN_LIMIT:
        return None
    return round((ping.at - started).total_seconds() * 1000)


def result_of(ping: Incoming, run_ms: int | None) -> Result:
    """The check result a success or failure ping is: its run time as the latency."""
    if ping.event == "fail":
        reason = "the job reported a failure"
        if ping.exit_status is not None:
            reason += f" (exit status {ping.exit_status})"
        return Result(ping.at, False, None, run_ms or 0, reason)
    return Result(ping.at, True, None, run_ms or 0, None)


class Misses:
    """Tokens found unknown lately (answered 404 without a lookup for MISS_MEMORY seconds: a token is a random
    UUID, never given out again), and how many unknown tokens each client sent in the last minute."""

    def __init__(self, per_client: int) -> None:
        self.tokens: collections.OrderedDict[str, float] = (
            collections.OrderedDict()
        )  # token hash: monotonic time it was found unknown
        self.clients = Limiter(per_client)
        self.lock = threading.Lock()

    def known_missing(self, token_hash: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self.lock:
            found = self.tokens.get(token_hash)
            if found is not None and found <= now - MISS_MEMORY:
                del self.tokens[token_hash]
                found = None
            return found is not None

    def add(self, token_hash: str, now: float | None = None) -> None:
        with self.lock:
            self.tokens[token_hash] = time.monotonic() if now is None else now
            self.tokens.move_to_end(token_hash)
            while len(self.tokens) > MAX_MISSES:
                self.tokens.popitem(last=False)


#: Monitoring.record: (session, outcomes, their rows read already, columns written with each row)
Record = Callable[[AsyncSession, list[Outcome], dict[int, Any], dict[int, dict[str, Any]]], Awaitable[Recorded]]


class Pinger:
    """The service loop's writer of pings (a background task, ``run``); requests hand it pings (``submit``)
    and wait for their answers."""

    def __init__(self, settings: PingSettings, record: Record) -> None:
        self.settings = settings
        self.record = record  # Monitoring.record: results and flips, the alerts' listeners told
        self.limiter = Limiter(settings.per_minute)  # this process's count: a flood stops before the database
        self.misses = Misses(settings.misses_per_minute)
        self.queues: list[list[Incoming]] = [
            [] for _ in range(settings.writers)
        ]  # a writer's: the pings of the monitors it writes
        self.inbox: collections.deque[Incoming] = (
            collections.deque()
        )  # pings handed over by request threads, for the service loop to take
        self.taking = False  # a callback to take the inbox is on its way
        self.wakes: list[asyncio.Event] | None = None  # while the writers run
        self.stopped = False  # they ran, and stopped
        self.written = 0
        self.refused = 0  # pings the database would not store (each recorded on its monitor)
        self.unwritten = 0  # pings answered 503: the database was away
        self.conflicts = 0  # transactions that lost to another (and were written again)
        self.batches: collections.deque[tuple[int, float]] = collections.deque(
            maxlen=1000
        )  # (pings, seconds) of the latest batches written

    @property
    def waiting(self) -> int:
        return len(self.inbox) + sum(len(queue) for queue in self.queues)

    def stats(self) -> dict[str, Any]:
        """For /api/health: pings written, refused, not written, waiting, and the latest batches' size and time."""
        sizes = [n for n, _ in self.batches]
        times = sorted(t for _, t in self.batches)
        return {
            "written": self.written,
            "refused": self.refused,
            "unwritten": self.unwritten,
            "conflicts": self.conflicts,
            "waiting": self.waiting,
            "batch_mean": round(sum(sizes) / len(sizes), 1) if sizes else None,
            "batch_ms_p99": round(times[int(0.99 * (len(times) - 1))] * 1000, 1) if times else None,
        }

    def hand_over(
        self, ping: Incoming, call_soon: Callable[[Callable[[], None]], None]
    ) -> "concurrent.futures.Future[str]":
        """From a request thread: leave ``ping`` for the writers; its answer comes in ``ping.answer`` (a
        concurrent Future, returned), "unwritten" when it cannot be stored (nothing of it is).  The pings wait
        in ``inbox``; one callback on the service loop (``call_soon``: the runtime's) moves whatever has come
        to the writers, so a thousand pings a second wake the loop far fewer times.  A ping whose answer is
        cancelled before a writer takes it is not written."""
        ping.answer = answer = concurrent.futures.Future[str]()
        self.inbox.append(ping)
        if not self.taking:
            self.taking = True
            try:
                call_soon(self._take_inbox)
            except ShuttingDown:
                self.taking = False
                self._left_over()
        return answer

    def _take_inbox(self) -> None:
        self.taking = False  # first: a ping handed over from now on is taken here, or by a callback of its own
        if self.wakes is None:  # the writers start (they take the inbox then) or they stopped
            if self.stopped:
                self._left_over()
            return
        while self.inbox:
            ping = self.inbox.popleft()
            writer = int(ping.token_hash[:8], 16) % len(self.queues)  # one monitor's pings: one writer, in order
            self.queues[writer].append(ping)
            self.wakes[writer].set()

    def _left_over(self) -> None:
        """Answer "unwritten" to the pings that wait: the writers stopped."""
        left = list(self.inbox) + [ping for queue in self.queues for ping in queue]
        self.inbox.clear()
        for queue in self.queues:
            queue.clear()
        self.unwritten += len(left)
        settle([(ping, "unwritten") for ping in left])

    async def run(self, state: types.SimpleNamespace) -> None:
        self.wakes = [asyncio.Event() for _ in self.queues]
        self.stopped = False
        self._take_inbox()  # what came while they started
        try:
            await asyncio.gather(*(self._write_forever(state, n) for n in range(len(self.queues))))
        finally:
            self.wakes = None
            self.stopped = True
            self._left_over()

    async def _write_forever(self, state: types.SimpleNamespace, writer: int) -> None:
        """One of the writers: while its pings wait, take them (up to BATCH) and write them in a transaction;
        the writers write at once, as many transactions as the database commits together."""
        assert self.wakes is not None  # (run made them)
        queue, wake = self.queues[writer], self.wakes[writer]
        while True:
            if not queue:
                wake.clear()
                await wake.wait()
                continue
            batch = [
                ping for ping in queue[:BATCH] if _answer(ping).set_running_or_notify_cancel()
            ]  # else: sender left
            del queue[:BATCH]
            if await writes.to_the_end(self._write(state, batch)):
                await asyncio.sleep(RETRY_SECONDS)  # the database is away: the next batch a moment later

    async def _write(self, state: types.SimpleNamespace, batch: list[Incoming]) -> bool:
        """Write ``batch`` and answer its pings: whether the database was away."""
        started = time.monotonic()
        try:
            done = await writes.write(state, batch, self.write, "writing pings", DEADLINE)
        except BaseException:
            settle([(ping, "unwritten") for ping in batch])
            raise
        self.batches.append((len(batch), time.monotonic() - started))
        self.written += sum(answer == "ok" for _, answer in done.written)
        self.conflicts += done.conflicts
        self.unwritten += len(done.unwritten)
        settle(done.written)
        settle([(ping, "unwritten") for ping in done.unwritten])
        if done.refused:
            self.refused += len(done.refused)
            await self._record_refused(state, done.refused)
            settle([(ping, "refused") for ping, _ in done.refused])
        return bool(done.unwritten)

    @staticmethod
    async def _record_refused(state: types.SimpleNamespace, refused: Sequence[tuple[Incoming, str]]) -> None:
        """Tell the owners of the monitors of ``refused`` [(ping, why)] (results.write_errors)."""

        async def record(session: AsyncSession) -> None:
            hashes = {ping.token_hash for ping, _ in refused}
            ids = dict(
                (
                    await session.execute(select(Monitor.ping_hash, Monitor.id).where(Monitor.ping_hash.in_(hashes)))
                ).all()
            )
            errors = [(ids[ping.token_hash], ping.at, "ping", why) for ping, why in refused if ping.token_hash in ids]
            await results.add_write_errors(session, errors)

        try:
            await in_session(state, record, writes.DEADLINE)
        except writes.FAILURES as exc:  # the log has them (models.writes), once
            log.warning("recording %d refused pings on their monitors failed: %s", len(refused), writes.describe(exc))

    async def write(self, session: AsyncSession, batch: list[Incoming]) -> list[str]:
        """Write ``batch`` in the caller's transaction: [answer of each ping]."""
        query = _FIND_LOCKED if dialect(session) == "mysql" else _FIND
        found = {
            row.ping_hash: row
            for row in await session.execute(query, {"hashes": sorted({p.token_hash for p in batch})})
        }
        seq_before = {row.id: row.ping_seq for row in found.values()}
        answers: list[str] = []
        outcomes: list[Outcome] = []
        stored: list[dict[str, Any]] = []
        after: dict[
            int, dict[str, Any]
        ] = {}  # monitor id: what this batch leaves on its row (PINGED's values), for those it pinged
        for ping in batch:
            row = found.get(ping.token_hash)
            if row is None:
                answers.append("missing")  # deleted, or not a heartbeat any more
                continue
            now = after.get(row.id) or {
                "monitor_id": row.id,
                "started": row.run_started_at,
                "seq": row.ping_seq,
                "window_at": row.ping_window_at,
                "window_count": row.ping_window_count,
            }
            if now["window_at"] is None or ping.at >= now["window_at"] + WINDOW:
                now["window_at"], now["window_count"] = ping.at, 0
            if now["window_count"] >= self.settings.per_minute:
                answers.append("limited")
                continue
            now["window_count"] += 1
            now["seq"] += 1
            after[row.id] = now
            answers.append("ok")
            duration = None
            if ping.event == "start":
                now["started"] = ping.at
            else:
                duration = run_time(ping, now["started"])
                now["started"] = None
                if not row.paused:
                    result = result_of(ping, duration)
                    outcomes.append(Outcome(row.id, result, due=KINDS[row.kind].deadline(row, ping.at)))
            stored.append(
                {
                    "monitor_id": row.id,
                    "seq": now["seq"],
                    "at": ping.at,
                    "event": ping.event,
                    "exit_status": ping.exit_status,
                    "duration_ms": duration,
                    "method": ping.method,
                    "source": ping.source,
                    "body": ping.body,
                }
            )
        recorded: set[int] = set()
        if outcomes:
            # the rows of monitors with results move on with them: their pings' columns in the same UPDATE
            also = {o.monitor_id: {c: after[o.monitor_id][p] for c, p in _PINGED.items()} for o in outcomes}
            done = await self.record(session, outcomes, {row.id: row for row in found.values()}, also)
            recorded = {outcome.monitor_id for outcome, _ in done}
        if after:
            rest = [after[m] for m in sorted(after) if m not in recorded]  # a /start, a paused monitor
            await bulk.update_each(session, table_of(Monitor), {"id": "monitor_id"}, _PINGED, rest)
            await session.execute(_INSERT, stored)
            kept, slack = self.settings.kept, max(1, self.settings.kept // 10)
            gone = [  # every ``slack`` pings of a monitor: between ``kept`` and ``kept + slack`` stay
                {"monitor_id": m, "last_gone": n["seq"] - kept}
                for m, n in sorted(after.items())
                if n["seq"] > kept and n["seq"] // slack != seq_before[m] // slack
            ]
            if gone:
                await session.execute(_PRUNE, gone)
        return answers


def _answer(ping: Incoming) -> "concurrent.futures.Future[str]":
    assert ping.answer is not None  # (hand_over gave it one)
    return ping.answer


def settle(answers: Iterable[tuple[Incoming, str]]) -> None:
    """Tell each ping's sender its answer [(ping, answer)]."""
    for ping, answer in answers:
        with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled by its sender meanwhile
            _answer(ping).set_result(answer)


def read_body(request: Any, limit: int) -> str | None:
    """Up to ``limit`` bytes of the request's body as text, as stored (UTF-8: a byte that is not is replaced
    by U+FFFD, which takes three; the text is cut to ``limit`` bytes after that), None without one."""
    if request.method != "POST" or not limit:
        return None
    data = request.body[:limit]  # waitress holds the whole body already (at most its max_request_body_size)
    stored = data.decode("utf-8", "replace").replace("\x00", "").encode("utf-8")[:limit]
    return stored.decode("utf-8", "ignore") or None  # "ignore": a character cut in two at the end goes


def incoming(request: Any) -> Incoming:
    """The Incoming ping of ``request`` (its route's token and event)."""
    event, exit_status = "success", None
    named = request.matchdict.get("event")
    if named in ("start", "fail"):
        event = named
    elif named is not None:
        exit_status = int(named)
        event = "success" if exit_status == 0 else "fail"
    return Incoming(
        token_hash(request.matchdict["token"].lower()),
        event,
        exit_status,
        request.method,
        client(request),
        read_body(request, find(request.registry, Pinger).settings.body_bytes),
        utcnow(),
    )


def client(request: Any) -> str | None:
    return (request.remote_addr or "")[:64] or None


def text(body: str, status: int = 200, **headers: str) -> Any:
    response = Response(body + "\n", status=status, content_type="text/plain", charset="utf-8")
    response.headers.update(headers)
    return response


PING_VIEW = {"request_method": ("GET", "POST", "HEAD"), "permission": NO_PERMISSION_REQUIRED, "require_csrf": False}


@view_config(route_name="ping", **PING_VIEW)
@view_config(route_name="ping.event", **PING_VIEW)
def ping(request: Any) -> Any:
    """A heartbeat: "OK" once it is stored; 404 for a token no heartbeat monitor has, 429 past the monitor's
    pings a minute (or a client's unknown tokens), 503 when it cannot be stored now.  Nothing else is said
    (whose monitor, its state): anyone holding the URL may ping.

    A plain view, not a coroutine: it hands the ping to the service loop's writers and waits for its commit
    on this thread (no event loop of its own to run, no task a ping: the cheapest way to wait)."""
    pinger = find(request.registry, Pinger)
    hashed = token_hash(request.matchdict["token"].lower())
    if pinger.misses.known_missing(hashed) or pinger.misses.clients.full(client(request) or ""):
        return missing(request, pinger)
    if not pinger.limiter.allow(hashed):
        return limited(pinger)
    answer = pinger.hand_over(incoming(request), request.registry.aio_runtime.call_soon)
    try:
        said = answer.result(wait_seconds(request))
    except concurrent.futures.TimeoutError:
        answer.cancel()  # not taken by a writer yet: it never will be (taken: it may be stored)
        said = "unwritten"
    if said == "unwritten":
        return text("the ping could not be stored now; send it again", 503, **{"Retry-After": "5"})
    if said == "missing":
        pinger.misses.add(hashed)
        return missing(request, pinger)
    if said == "limited":
        return limited(pinger)
    if said == "refused":
        return text("this ping could not be stored; its monitor's page says why", 422)
    return text("OK")


def wait_seconds(request: Any) -> float | None:
    """How long a ping waits for its write: the app's request deadline (aio.timeout), a moment less."""
    timeout = request.registry.aio_runtime.default_timeout
    return max(ANSWER_MARGIN, timeout - ANSWER_MARGIN) if timeout else None


def missing(request: Any, pinger: Pinger) -> Any:
    """404, counted against the client's unknown tokens a minute; past them, 429 (and no lookup till then)."""
    if not pinger.misses.clients.allow(client(request) or ""):
        limit = pinger.settings.misses_per_minute
        return text(f"too many unknown tokens: at most {limit} a minute", 429, **{"Retry-After": "60"})
    return text("not found", 404)


def limited(pinger: Pinger) -> Any:
    return text(f"too many pings: at most {pinger.settings.per_minute} a minute", 429, **{"Retry-After": "60"})
