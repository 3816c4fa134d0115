"""The scheduler: a background task on myapp.aio's service loop, in every process that runs it.

Every ``POLL`` it claims the monitors due within the next ``HORIZON`` (``claims.claim``:
one short transaction, SKIP LOCKED on MariaDB, at most ``BATCH`` at a time) and starts
each check at its due time; at most ``max_concurrency`` are in flight.  It claims
nothing while checks that are due wait for a free slot, so a process that cannot keep
up leaves due monitors to the others.  Results are written in batches
(``Monitoring.record``: one transaction each); a batch that cannot be written is kept and
written with the next, until its claims run out.

Fairness: one owner has at most ``per_owner`` checks in flight.  Their other due checks
wait for the owner's own slots (not counted as waiting for a free one, so the others'
monitors are still claimed), an owner with that many running or waiting is not claimed
from at all, and a check that waited past its claim's margin is left for a later retake.
One owner's many slow monitors are late by their own doing; nobody else's are.
Processes share nothing but the database: any number of them may run it.

Writing follows models.writes: a batch that loses to another transaction is written again in halves, a
result the database refuses is recorded on its monitor (its claim ends, its next check on the schedule)
and the others are written, and while the database is away the results wait.

Storms: a check that could not reach its server at all (timeout, refused, DNS) is held
``suspect_hold`` seconds (``monitors.suspect_hold_seconds``) before it is written.  When, in the
last ``STORM_WINDOW``, at least ``STORM_MONITORS`` monitors and at least half of this process's checks
failed that way, the process suspects its own network: it gathers the failures of ``storm_group``
seconds (``monitors.storm_group_seconds``), checks each once more on fresh connections, writes the
ones that still fail as one group (``Outcome.storm``: their DOWN alerts go out as one message per
channel), and the others as they came back.
"""

import asyncio
import collections
import datetime
import logging
import time
import types
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .. import outbound
from ..identity import process_owner
from ..models import conflicts, in_session, writes
from ..models.meta import utcnow
from . import claims, results
from .claims import Claim
from .kinds import run as run_check
from .results import Outcome
from .state import Result

log = logging.getLogger(__name__)

HORIZON = datetime.timedelta(seconds=1)  # claim what is due this soon, and start it on time
POLL = 0.5  # seconds between claims
BATCH = 500  # monitors claimed in one transaction, at most
FLUSH_EVERY = 0.25  # seconds between writes of results
FLUSH_AT = 200  # results that make a write at once
STORM_WINDOW = 60.0
STORM_MONITORS = 5
GONE_EVERY = 1.0  # seconds between looks for checks of monitors deleted or paused meanwhile


class Scheduler:
    def __init__(
        self,
        max_concurrency: int = 100,
        on_check: Iterable[Callable[[Result], object]] = (),
        record: Callable[[AsyncSession, list[Outcome]], Awaitable[object]] = results.record,
        per_owner: int | None = None,
        suspect_hold: float = 2.0,
        storm_group: float = 5.0,
    ) -> None:
        self.max_concurrency = max_concurrency
        self.suspect_hold = suspect_hold  # seconds a connection-level failure waits, to see whether others fail with it
        self.storm_group = storm_group  # in a storm, seconds of failures gathered into one group
        self.per_owner = per_owner or max_concurrency
        self.on_check = on_check  # called with each check's Result (the metrics count them)
        self.record = record  # Monitoring.record: results written, flip listeners told, in one transaction
        self.recent: collections.deque[tuple[float, int, bool]] = (
            collections.deque()
        )  # (monotonic time, monitor id, failed to reach it) of the latest minute
        self.storms = 0  # groups of held failures that were checked again as a storm
        self._suspects: list[tuple[Claim, Result, float]] = []  # (claim, result, monotonic time held)
        self._rechecks: set[asyncio.Task[None]] = set()  # storms' groups being checked again
        self.owner = ""  # this process, in the claims it takes (made when it runs: a forked process is another)
        self.in_flight = 0
        self.waiting = 0  # due, and waiting for a free slot
        self.checks = 0
        self.lost = 0  # results that could not be written before the process stopped
        self.refused = 0  # results the database would not store (each recorded on its monitor)
        self.left = 0  # claims left to run out: their owner's slots stayed taken past the claim's margin
        self.owners: collections.Counter[int] = (
            collections.Counter()
        )  # user id: its checks in flight or due and waiting here
        self._owner_slots: dict[
            int, asyncio.Semaphore
        ] = {}  # user id: asyncio.Semaphore(per_owner), while the owner has checks here
        self._checking: dict[int, asyncio.Task[Any]] = {}  # monitor id: the task checking it now
        self.dropped = 0  # checks stopped because their monitor was deleted, paused or retaken meanwhile
        self.conflicts = 0  # claims and writes that lost to another process's (on Galera: another node's)
        self.lateness: collections.deque[float] = collections.deque(maxlen=10000)  # seconds, of the latest checks
        self.running = False
        self._results: list[Outcome] = []
        self._slots = asyncio.Semaphore(max_concurrency)  # made again by run(), with the flush event
        self._flushed = asyncio.Event()

    # -- statistics (read from request threads: plain reads of numbers and a copied deque) --------------

    def stats(self) -> dict[str, Any]:
        late = sorted(self.lateness)
        quantile = (
            (lambda q: round(late[min(len(late) - 1, int(q * len(late)))] * 1000, 1)) if late else (lambda q: None)
        )
        return {
            "running": self.running,
            "owner": self.owner or None,
            "checks": self.checks,
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "results_lost": self.lost,
            "results_refused": self.refused,
            "claims_left": self.left,
            "checks_dropped": self.dropped,
            "conflicts": self.conflicts,
            "storms": self.storms,
            "lateness_ms": {
                "p50": quantile(0.5),
                "p99": quantile(0.99),
                "max": round(late[-1] * 1000, 1) if late else None,
                "of_checks": len(late),
            },
        }

    # -- the task -----------------------------------------------------------------------------------------

    async def run(self, state: types.SimpleNamespace) -> None:
        self.owner = process_owner()
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._flushed = asyncio.Event()
        writer = asyncio.create_task(self._write_forever(state), name="monitors.results")
        checks: set[asyncio.Task[None]] = set()
        self.running = True
        try:
            while True:
                if self.waiting == 0:  # keeping up: take what is due soon
                    claims, more = await self._claim(state, BATCH)
                    for claim in claims:
                        task = asyncio.create_task(self._check(state, claim))
                        checks.add(task)
                        task.add_done_callback(checks.discard)
                    if more and claims:
                        continue  # more is due (unless all of it waits for its owner's share): claim again
                await asyncio.sleep(POLL)
        finally:
            self.running = False
            for task in checks:
                task.cancel()
            await asyncio.gather(*checks, return_exceptions=True)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            for task in self._rechecks:
                task.cancel()  # their first results are kept (_check_again)
            await asyncio.gather(*self._rechecks, return_exceptions=True)
            self._results += [self._outcome(c, r) for c, r, _ in self._suspects]
            self._suspects = []
            await asyncio.shield(self._flush(state))  # what finished before the stop is kept
            self.lost += len(self._results)  # the database is away: these go, their claims run out

    async def _claim(self, state: types.SimpleNamespace, limit: int) -> tuple[list[Claim], bool]:
        try:
            return await in_session(
                state,
                lambda s: claims.claim(s, self.owner, limit, HORIZON, self.per_owner, self.owners),
                writes.DEADLINE,
            )
        except writes.FAILURES as exc:
            if conflicts.failed(log, exc, "claiming due monitors"):
                self.conflicts += 1  # another process took them: claim again at the next poll
            else:
                await asyncio.sleep(POLL)
            return [], False

    async def _check(self, state: types.SimpleNamespace, claim: Claim) -> None:
        # claimed early (within the horizon): start on time, and never before it. A loop's timer may fire a
        # millisecond early (uvloop counts milliseconds), and a result stamped before the slot it was claimed
        # for would not move the schedule on: the monitor would be due again at once, and checked twice.
        while (wait := (claim.start_at - utcnow()).total_seconds()) > 0:
            await asyncio.sleep(wait)
        user_id = claim.row.user_id
        outbound.owner.set(user_id)  # this task's name lookups count against its owner's share
        self.owners[user_id] += 1
        owner_slots = self._owner_slots.setdefault(user_id, asyncio.Semaphore(self.per_owner))
        try:
            async with owner_slots:
                if utcnow() - claim.start_at > claims.RETAKE_MARGIN:
                    self.left += 1  # checked now, it could still run when its claim has run out
                    return
                result = await self._run(state, claim)
        finally:
            self.owners[user_id] -= 1
            if not self.owners[user_id]:
                del self.owners[user_id], self._owner_slots[user_id]
        self._done(claim, result)

    async def _run(self, state: types.SimpleNamespace, claim: Claim) -> Result:
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            lateness = max(0.0, (utcnow() - claim.due_at).total_seconds())
            self.lateness.append(lateness)
            log.debug("checking monitor %s due %s, %.1f ms late", claim.monitor_id, claim.due_at, lateness * 1000)
            task = asyncio.current_task()
            assert task is not None  # (a check runs in a task of its own: _drop_gone may cancel it)
            self._checking[claim.monitor_id] = task
            return await run_check(state, claim.row)
        finally:
            self._checking.pop(claim.monitor_id, None)
            self.in_flight -= 1
            self._slots.release()

    def _done(self, claim: Claim, result: Result) -> None:
        self.checks += 1
        for listener in self.on_check:
            listener(result)
        self.recent.append((time.monotonic(), claim.monitor_id, result.network))
        self._forget_old()
        if result.network:
            self._suspects.append((claim, result, time.monotonic()))
            return
        self._results.append(self._outcome(claim, result))
        if len(self._results) >= FLUSH_AT:
            self._flushed.set()

    def _outcome(self, claim: Claim, result: Result, storm: bool = False) -> Outcome:
        return results.Outcome(claim.monitor_id, result, self.owner, storm, retaken=claim.retaken)

    def _forget_old(self) -> None:
        horizon = time.monotonic() - STORM_WINDOW
        while self.recent and self.recent[0][0] < horizon:
            self.recent.popleft()

    def storming(self) -> bool:
        """Whether this process's own network looks down: many monitors unreachable at once."""
        self._forget_old()
        unreachable = [m for _, m, network in self.recent if network]
        return len(set(unreachable)) >= STORM_MONITORS and 2 * len(unreachable) >= len(self.recent)

    def _release_suspects(self, state: types.SimpleNamespace) -> None:
        """Write the held failures whose time has come: as they are, or, in a storm, checked once more in a task
        of their own (the writer goes on writing everyone's results meanwhile: one owner's unreachable monitors,
        checked again for as long as their timeout, hold back nobody else's)."""
        if not self._suspects:
            return
        storm = self.storming()
        if time.monotonic() - self._suspects[0][2] < (self.storm_group if storm else self.suspect_hold):
            return
        held, self._suspects = self._suspects, []
        if not storm:
            self._results += [self._outcome(c, r) for c, r, _ in held]
            return
        self.storms += 1
        log.warning("%d monitors unreachable at once: checking them again on fresh connections", len(held))
        task = asyncio.create_task(self._check_again(state, held), name="monitors.storm")
        self._rechecks.add(task)
        task.add_done_callback(self._rechecks.discard)

    async def _check_again(self, state: types.SimpleNamespace, held: list[tuple[Claim, Result, float]]) -> None:
        """Check ``held`` once more on fresh connections (no pooled connection, no cached answer): a failure
        that stays is written as part of the storm (its alert goes out grouped); stopped, the first results."""
        try:
            async with outbound.session(state.guard, state.tls, state.names, fresh=True) as fresh:
                on_fresh = types.SimpleNamespace(**{**vars(state), "http": fresh})
                again = await asyncio.gather(*(run_check(on_fresh, c.row) for c, _, _ in held))
        except asyncio.CancelledError:
            self._results += [self._outcome(c, r) for c, r, _ in held]
            raise
        self._results += [self._outcome(c, r, storm=not r.ok) for (c, _, _), r in zip(held, again)]

    async def _write_forever(self, state: types.SimpleNamespace) -> None:
        looked = time.monotonic()
        while True:
            try:
                await asyncio.wait_for(self._flushed.wait(), FLUSH_EVERY)
            except TimeoutError:
                pass
            self._flushed.clear()
            self._release_suspects(state)
            await self._flush(state)
            if time.monotonic() - looked >= GONE_EVERY:
                looked = time.monotonic()
                await self._drop_gone(state)

    async def _drop_gone(self, state: types.SimpleNamespace) -> None:
        """Stop the checks of monitors deleted, paused or retaken since they were claimed: a deleted monitor's
        target hears no more from us, and the result would be dropped anyway."""
        checking = dict(self._checking)
        if not checking:
            return
        try:
            kept = await in_session(
                state, lambda s: claims.still_claimed(s, self.owner, list(checking)), writes.DEADLINE
            )
        except writes.FAILURES:
            return  # the database is away: the checks go on, their results wait for it (_flush)
        for monitor_id, task in checking.items():
            if monitor_id not in kept and not task.done():
                self.dropped += 1
                task.cancel()

    async def _flush(self, state: types.SimpleNamespace) -> None:
        """Write the results that are done (models.writes: a result the database refuses is recorded on its
        monitor, and the others are written); what cannot be written now is kept for the next write (its claims
        hold until they run out: then record drops what was retaken)."""
        batch, self._results = self._results, []
        if not batch:
            return
        done = await writes.to_the_end(writes.write(state, batch, self._write, "writing results"))
        self.conflicts += done.conflicts
        self._results[:0] = done.unwritten
        if done.refused:
            self.refused += len(done.refused)
            try:
                await in_session(state, lambda s: results.refuse(s, done.refused, self.owner), writes.DEADLINE)
            except writes.FAILURES as exc:  # their claims run out, and they are checked again
                log.warning("recording %d refused results failed: %s", len(done.refused), writes.describe(exc))

    async def _write(self, session: AsyncSession, batch: list[Outcome]) -> None:
        await self.record(session, batch)  # what was recorded is not writes.write's business
