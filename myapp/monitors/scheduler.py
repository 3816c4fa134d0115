"""The scheduler: a background task on myapp.aio's service loop, in every process that runs it.

Every ``POLL`` it claims the monitors due within the next ``HORIZON`` (``service.claim``:
one short transaction, SKIP LOCKED on MariaDB, at most ``BATCH`` at a time) and starts
each check at its due time; at most ``max_concurrency`` are in flight.  It claims
nothing while checks that are due wait for a free slot, so a process that cannot keep
up leaves due monitors to the others.  Results are written in batches
(``service.record``: one transaction each).
Processes share nothing but the database: any number of them may run it.

Storms: a check that could not reach its server at all (timeout, refused, DNS) is held
``SUSPECT_HOLD`` before it is written.  When, in the last ``STORM_WINDOW``, at least
``STORM_MONITORS`` monitors and at least half of this process's checks failed that way,
the process suspects its own network: it checks each held monitor once more on fresh
connections, writes the ones that still fail as one group (``Outcome.storm``: their DOWN
alerts go out as one message per channel), and the others as they came back.
"""

import asyncio
import collections
import datetime
import logging
import os
import socket
import time
import uuid

from sqlalchemy.exc import DBAPIError

from .. import outbound
from ..models import in_session
from ..models.meta import utcnow
from . import service
from .checker import Target, check

log = logging.getLogger(__name__)

HORIZON = datetime.timedelta(seconds=1)  # claim what is due this soon, and start it on time
POLL = 0.5  # seconds between claims
BATCH = 500  # monitors claimed in one transaction, at most
FLUSH_EVERY = 0.25  # seconds between writes of results
FLUSH_AT = 200  # results that make a write at once
WRITE_ATTEMPTS = 3
SUSPECT_HOLD = 2.0  # seconds a connection-level failure waits, to see whether others fail with it
STORM_GROUP = 5.0  # in a storm, seconds of failures gathered into one group (claims last timeout + 10 s)
STORM_WINDOW = 60.0
STORM_MONITORS = 5


class Scheduler:
    def __init__(self, max_concurrency=100, on_check=(), on_flips=()):
        self.max_concurrency = max_concurrency
        self.on_check = on_check  # called with each check's Result (the metrics count them)
        self.on_flips = on_flips  # awaited in the transaction of a state change (service.record)
        self.recent = collections.deque()  # (monotonic time, monitor id, failed to reach it) of the latest minute
        self.storms = 0  # groups of held failures that were checked again as a storm
        self._suspects = []  # (claim, result, monotonic time held)
        self.owner = None
        self.in_flight = 0
        self.waiting = 0  # due, and waiting for a free slot
        self.checks = 0
        self.lost = 0  # results that could not be written
        self.lateness = collections.deque(maxlen=10000)  # seconds, of the latest checks
        self.running = False
        self._results = []
        self._slots = None
        self._flushed = None

    # -- statistics (read from request threads: plain reads of numbers and a copied deque) --------------

    def stats(self):
        late = sorted(self.lateness)
        quantile = (
            (lambda q: round(late[min(len(late) - 1, int(q * len(late)))] * 1000, 1)) if late else (lambda q: None)
        )
        return {
            "running": self.running,
            "owner": self.owner,
            "checks": self.checks,
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "results_lost": self.lost,
            "storms": self.storms,
            "lateness_ms": {
                "p50": quantile(0.5),
                "p99": quantile(0.99),
                "max": round(late[-1] * 1000, 1) if late else None,
                "of_checks": len(late),
            },
        }

    # -- the task -----------------------------------------------------------------------------------------

    async def run(self, state):
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._flushed = asyncio.Event()
        writer = asyncio.create_task(self._write_forever(state), name="monitors.results")
        checks = set()
        self.running = True
        try:
            while True:
                if self.waiting == 0:  # keeping up: take what is due soon
                    claims = await self._claim(state, BATCH)
                    for claim in claims:
                        task = asyncio.create_task(self._check(state, claim))
                        checks.add(task)
                        task.add_done_callback(checks.discard)
                    if len(claims) == BATCH:
                        continue  # more is due: claim again at once
                await asyncio.sleep(POLL)
        finally:
            self.running = False
            for task in checks:
                task.cancel()
            await asyncio.gather(*checks, return_exceptions=True)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            self._results += [service.Outcome(c.monitor_id, r, self.owner) for c, r, _ in self._suspects]
            self._suspects = []
            await asyncio.shield(self._flush(state))  # what finished before the stop is kept

    async def _claim(self, state, limit):
        try:
            return await in_session(state, lambda s: service.claim(s, self.owner, limit, HORIZON))
        except DBAPIError as exc:
            log.warning("claiming due monitors failed: %s", str(exc.orig or exc).splitlines()[0][:200])
            await asyncio.sleep(POLL)
            return []

    async def _check(self, state, claim):
        # claimed early (within the horizon): start on time, and never before it. A loop's timer may fire a
        # millisecond early (uvloop counts milliseconds), and a result stamped before the slot it was claimed
        # for would not move the schedule on: the monitor would be due again at once, and checked twice.
        while (wait := (claim.start_at - utcnow()).total_seconds()) > 0:
            await asyncio.sleep(wait)
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            lateness = max(0.0, (utcnow() - claim.due_at).total_seconds())
            self.lateness.append(lateness)
            log.debug("checking monitor %s, %.1f ms late", claim.monitor_id, lateness * 1000)
            result = await check(state.http, state.guard, Target.of(claim.row))
        finally:
            self.in_flight -= 1
            self._slots.release()
        self.checks += 1
        for listener in self.on_check:
            listener(result)
        self.recent.append((time.monotonic(), claim.monitor_id, result.network))
        self._forget_old()
        if result.network:
            self._suspects.append((claim, result, time.monotonic()))
            return
        self._results.append(service.Outcome(claim.monitor_id, result, self.owner))
        if len(self._results) >= FLUSH_AT:
            self._flushed.set()

    def _forget_old(self):
        horizon = time.monotonic() - STORM_WINDOW
        while self.recent and self.recent[0][0] < horizon:
            self.recent.popleft()

    def storming(self):
        """Whether this process's own network looks down: many monitors unreachable at once."""
        self._forget_old()
        unreachable = [m for _, m, network in self.recent if network]
        return len(set(unreachable)) >= STORM_MONITORS and 2 * len(unreachable) >= len(self.recent)

    async def _release_suspects(self, state):
        """Write the held failures whose time has come: as they are, or, in a storm, checked once more."""
        if not self._suspects:
            return
        storm = self.storming()
        if time.monotonic() - self._suspects[0][2] < (STORM_GROUP if storm else SUSPECT_HOLD):
            return
        held, self._suspects = self._suspects, []
        if not storm:
            self._results += [service.Outcome(c.monitor_id, r, self.owner) for c, r, _ in held]
            return
        self.storms += 1
        log.warning("%d monitors unreachable at once: checking them again on fresh connections", len(held))
        async with outbound.session(state.guard, state.tls, fresh=True) as fresh:
            again = await asyncio.gather(*(check(fresh, state.guard, Target.of(c.row)) for c, _, _ in held))
        self._results += [
            service.Outcome(c.monitor_id, r, self.owner, storm=not r.ok) for (c, _, _), r in zip(held, again)
        ]

    async def _write_forever(self, state):
        while True:
            try:
                await asyncio.wait_for(self._flushed.wait(), FLUSH_EVERY)
            except TimeoutError:
                pass
            self._flushed.clear()
            await self._release_suspects(state)
            await self._flush(state)

    async def _flush(self, state):
        batch, self._results = self._results, []
        if not batch:
            return
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                await in_session(state, lambda s: service.record(s, batch, self.on_flips))
                return
            except DBAPIError as exc:
                log.warning(
                    "writing %d results failed (attempt %d): %s",
                    len(batch),
                    attempt,
                    str(exc.orig or exc).splitlines()[0][:200],
                )
                await asyncio.sleep(0.2 * attempt)
        self.lost += len(batch)  # their claims run out and the monitors are checked again
