"""Heartbeat pings: ``/ping/<token>`` (success), ``/start``, ``/fail`` and ``/<exit status>``, by GET, POST
or HEAD, from cron jobs, backups and anything that can fetch a URL.

Pings are unauthenticated by design (the token is the secret), so a ping costs little and says nothing:
the answer is "OK" (or 404, 429), the token is found by its SHA-256 (no comparison an attacker could time
on the token itself), a monitor takes at most ``monitors.pings_per_minute`` in a process, and a body is
kept up to ``monitors.ping_body_bytes``.

Pings are written in batches by the service loop's writers: whatever waits goes in one transaction (the
monitors' results and deadlines through ``service.record``, the start of a run, the pings themselves).
Under load the batches grow, not the transactions.  The first ping of a monitor in a process waits for
its write (its token is looked up there: "not found" is said only then); after that, the process knows the
token and answers at once, and the ping is written with the next batch, within milliseconds.  A process
stopped with SIGTERM writes what waits before it exits, and pings answered while the database is away
are written when it is back; a process killed outright loses the pings it answered and had not written
(docs/heartbeats.md).  When ``BEHIND`` pings wait for the writers, a ping waits for its
write again: the senders are slowed to what the database takes, and nothing piles up.
"""

import asyncio
import collections
import dataclasses
import datetime
import logging
import threading
import time

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError

from ..models import Monitor, Ping, conflicts, in_session
from ..models.meta import utcnow
from ..settings import Field, Section
from .kinds import KINDS
from .service import Outcome, hash_token
from .state import Result

log = logging.getLogger(__name__)

BATCH = 200  # pings written in one transaction, at most (a longer batch would keep those waiting for it longer)
BEHIND = 5000  # pings waiting for the writers past which a ping waits for its write too (they keep up, or slow it)
MAX_KNOWN = 200000  # tokens a process remembers
WRITE_ATTEMPTS = 5  # a batch that loses to another writer (a deadlock, a Galera conflict) is written again
RETRY_SECONDS = 1.0  # while the database is away, pings answered already are written again this often
RUN_LIMIT = datetime.timedelta(hours=24)  # a /start older than this is not the start of the run a ping ends
TOKEN = r"[0-9a-fA-F-]{36}"
EVENT = r"start|fail|25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]"  # an exit status: 0-255


class PingSettings(Section):
    per_minute: int = Field(30, alias="monitors.pings_per_minute", ge=1, description="per monitor and process")
    body_bytes: int = Field(10000, alias="monitors.ping_body_bytes", ge=0, le=100000)
    writers: int = Field(
        3,
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
    counted: bool = False  # counted against its monitor's pings a minute already (a known token)
    answer: asyncio.Future | None = None  # "ok", "missing" or "limited", set by the writer


#: what a ping needs of its monitor
COLUMNS = (
    Monitor.id,
    Monitor.ping_hash,
    Monitor.paused,
    Monitor.interval,
    Monitor.grace,
    Monitor.cron,
    Monitor.timezone,
    Monitor.run_started_at,
)
_FIND = select(*COLUMNS).where(Monitor.ping_hash.in_(bindparam("hashes", expanding=True)), Monitor.kind == "heartbeat")
_RUN_STARTED = (
    update(Monitor.__table__).where(Monitor.id == bindparam("monitor_id")).values(run_started_at=bindparam("started"))
)
_INSERT = insert(Ping.__table__)


class Limiter:
    """At most ``count`` pings a minute per monitor, by its token's hash (a sliding window, in this process;
    request threads and the service loop ask it)."""

    def __init__(self, count):
        self.count = count
        self.seen = {}  # token hash: deque of monotonic times within the window
        self.lock = threading.Lock()

    def allow(self, key, now=None):
        with self.lock:
            return self._allow(key, time.monotonic() if now is None else now)

    def _allow(self, key, now):
        times = self.seen.setdefault(key, collections.deque())
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= self.count:
            return False
        times.append(now)
        if len(self.seen) > 100000:  # forget tokens not pinged within the minute
            self.seen = {m: t for m, t in self.seen.items() if t and t[-1] > now - 60}
        return True


def run_time(ping, started):
    """Milliseconds from the /start ``started`` to ``ping``, None without a start (or one too old)."""
    if started is None or not datetime.timedelta(0) <= ping.at - started <= RUN_LIMIT:
        return None
    return round((ping.at - started).total_seconds() * 1000)


def result_of(ping, run_ms):
    """The check result a success or failure ping is: its run time as the latency."""
    if ping.event == "fail":
        reason = "the job reported a failure"
        if ping.exit_status is not None:
            reason += f" (exit status {ping.exit_status})"
        return Result(ping.at, False, None, run_ms or 0, reason)
    return Result(ping.at, True, None, run_ms or 0, None)


class Pinger:
    """The service loop's writer of pings (a background task, ``run``); requests hand it pings (``submit``)."""

    def __init__(self, settings, record):
        self.settings = settings
        self.record = record  # Monitoring.record: results and flips, the alerts' listeners told
        self.limiter = Limiter(settings.per_minute)
        self.known = set()  # token hashes of heartbeats pinged through this process
        self.queues = [[] for _ in range(settings.writers)]  # a writer's: the pings of the monitors it writes
        self.inbox = collections.deque()  # pings handed over by request threads, for the service loop to take
        self.taking = False  # a task to take the inbox is on its way
        self.wakes = None
        self.written = 0
        self.conflicts = 0  # batches that lost to another transaction (and were written again)
        self.batches = collections.deque(maxlen=1000)  # (pings, seconds) of the latest batches written

    @property
    def waiting(self):
        return len(self.inbox) + sum(len(queue) for queue in self.queues)

    def stats(self):
        """For /api/health: pings written, waiting, and the latest batches' size and time."""
        sizes = [n for n, _ in self.batches]
        times = sorted(t for _, t in self.batches)
        return {
            "written": self.written,
            "conflicts": self.conflicts,
            "waiting": self.waiting,
            "batch_mean": round(sum(sizes) / len(sizes), 1) if sizes else None,
            "batch_ms_p99": round(times[int(0.99 * (len(times) - 1))] * 1000, 1) if times else None,
        }

    async def submit(self, ping):
        """Hand ``ping`` to the writer of its monitor (on the service loop) and wait until it is written: its
        answer."""
        if self.wakes is None:
            raise RuntimeError("pings are not written in this process (the writer does not run)")
        ping.answer = asyncio.get_running_loop().create_future()
        self._queue(ping)
        return await ping.answer

    def hand_over(self, request, ping):
        """From a request thread: leave ``ping`` to be written, without waiting (its token is known).  The
        pings wait in ``inbox``; one task on the service loop moves whatever has come to the writers, so a
        thousand pings a second wake the loop far fewer times."""
        self.inbox.append(ping)
        if not self.taking:
            self.taking = True
            request.spawn(self._take_inbox())

    async def _take_inbox(self):
        self.taking = False  # first: a ping handed over from now on is taken here, or by a task of its own
        while self.inbox:
            self._queue(self.inbox.popleft())

    def _queue(self, ping):
        """One monitor's pings all go to one writer, which writes them in the order they came."""
        writer = int(ping.token_hash[:8], 16) % len(self.queues)
        self.queues[writer].append(ping)
        if self.wakes is not None:
            self.wakes[writer].set()

    async def run(self, state):
        self.wakes = [asyncio.Event() for _ in self.queues]
        try:
            await asyncio.gather(*(self._write_forever(state, n) for n in range(len(self.queues))))
        finally:
            self.wakes = None
            left = [ping for queue in self.queues for ping in queue]
            for queue in self.queues:
                queue.clear()
            while self.inbox:
                left.append(self.inbox.popleft())
            if left:  # answered already, most of them: written before the process goes
                settle(left, await asyncio.shield(self._write(state, left)))

    async def _write_forever(self, state, writer):
        """One of the writers: while its pings wait, take them (up to BATCH) and write them in a transaction;
        the writers write at once, as many transactions as the database commits together."""
        queue, wake = self.queues[writer], self.wakes[writer]
        while True:
            if not queue:
                wake.clear()
                await wake.wait()
                continue
            batch = queue[:BATCH]
            del queue[:BATCH]
            started = time.monotonic()
            try:
                answers = await self._write(state, batch)
            except asyncio.CancelledError:
                queue[:0] = batch  # the process stops: written by run's last write
                raise
            self.batches.append((len(batch), time.monotonic() - started))
            if batch and isinstance(answers[0], Exception):  # the database is away
                settle([ping for ping in batch if ping.answer is not None], answers)  # 503 to those who wait
                queue[:0] = [ping for ping in batch if ping.answer is None]  # answered OK: written when it is back
                await asyncio.sleep(RETRY_SECONDS)
                continue
            settle(batch, answers)

    async def _write(self, state, batch):
        """The answers to ``batch``, written in a transaction (the error instead, when it cannot be)."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                answers = await in_session(state, lambda session: self.write(session, batch))
                self.written += answers.count("ok")  # committed: a transaction that lost wrote nothing
                return answers
            except DBAPIError as exc:
                error = exc
                if conflicts.failed(log, exc, f"writing {len(batch)} pings (attempt {attempt})"):
                    self.conflicts += 1
                    await conflicts.pause(attempt)  # the other writer's commit, applied here, comes first
        return [error] * len(batch)

    async def write(self, session, batch):
        """Write ``batch`` in the caller's transaction: [answer of each ping]."""
        found = {
            row.ping_hash: row for row in await session.execute(_FIND, {"hashes": list({p.token_hash for p in batch})})
        }
        answers, outcomes, stored = [], [], []
        started = {}  # monitor id: the start of its run, as this batch leaves it
        for ping in batch:
            row = found.get(ping.token_hash)
            if row is None:
                self.known.discard(ping.token_hash)  # deleted, or not a heartbeat any more
                answers.append("missing")
                continue
            if len(self.known) >= MAX_KNOWN:
                self.known.clear()
            self.known.add(ping.token_hash)
            if not ping.counted and not self.limiter.allow(ping.token_hash):  # known tokens are counted as they come
                answers.append("limited")
                continue
            answers.append("ok")
            duration = None
            if ping.event == "start":
                started[row.id] = ping.at
            else:
                duration = run_time(ping, started.get(row.id, row.run_started_at))
                started[row.id] = None
                if not row.paused:
                    result = result_of(ping, duration)
                    outcomes.append(Outcome(row.id, result, due=KINDS["heartbeat"].deadline(row, ping.at)))
            stored.append(
                {
                    "monitor_id": row.id,
                    "at": ping.at,
                    "event": ping.event,
                    "exit_status": ping.exit_status,
                    "duration_ms": duration,
                    "method": ping.method,
                    "source": ping.source,
                    "body": ping.body,
                }
            )
        if outcomes:
            await self.record(session, outcomes)
        before = {row.id: row.run_started_at for row in found.values()}
        changed = sorted((m, s) for m, s in started.items() if s != before[m])  # most pings change nothing here
        if changed:  # in id order, as record locks rows: two writers never wait for each other in a circle
            await session.execute(_RUN_STARTED, [{"monitor_id": m, "started": s} for m, s in changed])
        if stored:
            await session.execute(_INSERT, stored)
        return answers


def settle(batch, answers):
    """Tell each ping's submitter its answer (or the error that kept it from being written)."""
    for ping, answer in zip(batch, answers):
        if ping.answer is not None and not ping.answer.done():  # None: handed over, nobody waits
            if isinstance(answer, Exception):
                ping.answer.set_exception(answer)
            else:
                ping.answer.set_result(answer)


def read_body(request, limit):
    """Up to ``limit`` bytes of the request's body as text (more is cut), None without one."""
    if request.method != "POST" or not limit:
        return None
    data = request.body[:limit]  # waitress holds the whole body already (at most its max_request_body_size)
    return data.decode("utf-8", "replace").replace("\x00", "") or None


def incoming(request):
    """The Incoming ping of ``request`` (its route's token and event)."""
    event, exit_status = "success", None
    named = request.matchdict.get("event")
    if named in ("start", "fail"):
        event = named
    elif named is not None:
        exit_status = int(named)
        event = "success" if exit_status == 0 else "fail"
    return Incoming(
        hash_token(request.matchdict["token"].lower()),
        event,
        exit_status,
        request.method,
        (request.remote_addr or "")[:64] or None,
        read_body(request, request.registry.pinger.settings.body_bytes),
        utcnow(),
    )


def text(body, status=200, **headers):
    response = Response(body + "\n", status=status, content_type="text/plain", charset="utf-8")
    response.headers.update(headers)
    return response


PING_VIEW = {"request_method": ("GET", "POST", "HEAD"), "permission": NO_PERMISSION_REQUIRED, "require_csrf": False}


@view_config(route_name="ping", **PING_VIEW)
@view_config(route_name="ping.event", **PING_VIEW)
async def ping(request):
    """A heartbeat: "OK", or 404 for a token no heartbeat monitor has, or 429 past the monitor's pings a
    minute.  Nothing else is said (whose monitor, its state): anyone holding the URL may ping."""
    pinger = request.registry.pinger
    ping = incoming(request)
    if ping.token_hash in pinger.known and pinger.waiting < BEHIND:  # answered now, written with the next batch
        if not pinger.limiter.allow(ping.token_hash):
            return limited(pinger)
        ping.counted = True
        try:
            pinger.hand_over(request, ping)
        except RuntimeError:  # the process is stopping
            return unwritten()
        return text("OK")
    try:  # the first ping of a monitor here (its token is looked up as it is written), or the writers are behind
        answer = await asyncio.wrap_future(request.spawn(pinger.submit(ping)))
    except (DBAPIError, RuntimeError):
        return unwritten()
    if answer == "missing":
        return text("not found", 404)
    if answer == "limited":
        return limited(pinger)
    return text("OK")


def unwritten():
    return text("the ping could not be written; send it again", 503, **{"Retry-After": "5"})


def limited(pinger):
    return text(f"too many pings: at most {pinger.settings.per_minute} a minute", 429, **{"Retry-After": "60"})
