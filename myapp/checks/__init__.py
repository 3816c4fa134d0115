"""Checks: running them (the scheduler, checks a user asks for, heartbeats' pings), and recording what they
found (results, states, incidents, rollups), the same way whoever ran them.

- ``kinds/``: what a monitor can check, one object per kind (its settings, its check, its schedule);
- ``scheduler.py`` runs due checks, taking them with ``claims.py`` so that each runs once across processes;
- ``pings.py`` receives heartbeats' pings; ``state.py`` is the state machine, ``rules.py`` judges answers;
- ``results.py`` writes what checks found; ``Monitoring.record`` is its one entry point.

Other areas hear of what happens here through hooks, not imports: ``config.add_flip_listener(fn)``
(awaited in the transaction that changes a monitor's state: alerts writes its deliveries there) and
``config.add_check_listener(fn)`` (called with each scheduled check's result: the metrics count them).
What a user edits (forms, API, pages) is myapp.monitors', above this.

Settings: ``monitors.*`` (CheckSettings here, MonitorSettings in myapp.monitors; docs/monitors.md).
"""

import asyncio
import datetime
import functools
import types
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.service import Limit, Throttle
from ..aio import loop_state
from ..models import in_session, writes
from ..models.meta import utcnow
from ..on_demand import NotStored, OnDemand
from ..services import find, provide
from ..settings import Field, Section
from ..templating import add_to_templates
from . import claims, kinds, results
from .kinds.http import Target
from .pings import Pinger, PingSettings
from .rules import Expectations
from .scheduler import Scheduler
from .state import Result

PRUNE_EVERY = 600
T = TypeVar("T")


class CheckSettings(Section):
    scheduler: bool = Field(True, alias="monitors.scheduler", description="run the scheduler in this process")
    max_concurrency: int = Field(100, alias="monitors.max_concurrency", ge=1, description="checks in flight")
    max_concurrency_per_owner: int = Field(
        20, alias="monitors.max_concurrency_per_owner", ge=1, description="checks of one owner in flight"
    )
    raw_retention_hours: int = Field(48, alias="monitors.raw_retention_hours", ge=1)
    hourly_retention_days: int = Field(90, alias="monitors.hourly_retention_days", ge=1)
    probes_per_hour: int = Field(120, alias="monitors.probes_per_hour", ge=1)
    # storms (docs/alerts.md): a group must end well within a claim (timeout + 10 s)
    suspect_hold_seconds: float = Field(2.0, alias="monitors.suspect_hold_seconds", gt=0, le=10)
    storm_group_seconds: float = Field(5.0, alias="monitors.storm_group_seconds", gt=0, le=10)


class Monitoring:
    """What other areas hang on monitors: listeners of flips (in the transaction) and of checks."""

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = settings
        self.on_flips: list[results.FlipListener] = []
        self.on_check: list[Callable[[Result], object]] = []  # for each check the scheduler runs
        self.scheduler = Scheduler(
            settings.max_concurrency,
            self.on_check,
            self.record,
            settings.max_concurrency_per_owner,
            settings.suspect_hold_seconds,
            settings.storm_group_seconds,
        )

    async def record(
        self,
        session: AsyncSession,
        outcomes: Iterable[results.Outcome],
        rows: dict[int, Any] | None = None,
        also: dict[int, dict[str, Any]] | None = None,
    ) -> results.Recorded:
        """results.record, telling the flip listeners: the one way results are written (the scheduler, pings and
        checks now all come here)."""
        return await results.record(session, outcomes, self.on_flips, rows, also)

    # -- checks a user asks for: started in a request, run on the service loop (myapp.on_demand) ------------

    @staticmethod
    async def on_demand(
        request: Any, coro: Coroutine[Any, Any, T], seconds: float | None = None, must_wait: bool = False
    ) -> tuple[bool, T | None]:
        """Run ``coro`` for the caller (on_demand.OnDemand.run), counted against their hourly budget
        (``monitors.probes_per_hour``): accounts.service.Throttled when it is spent."""
        user_id = request.context.owner_id

        async def count() -> None:
            await find(request.registry, Throttle).attempt(request.dbsession, {"probe_user": user_id})

        return await find(request.registry, OnDemand).run(request, user_id, coro, count, seconds, must_wait)

    async def check_now(self, monitor: Any) -> Result:
        """Check ``monitor`` (its fields, as attributes) and store the result by the scheduler's write policy
        (models.writes): one that loses to another transaction (checks now of one owner's monitors at once
        deadlock on MariaDB) is written again.  The result; the database's error when it is away; NotStored,
        the refusal recorded on the monitor, when it refuses the result."""
        state = loop_state()
        result = await kinds.run(state, monitor)
        done = await writes.write(state, [results.Outcome(monitor.id, result)], self._write, "checks now")
        if done.written:
            return result
        if done.refused:
            why = done.refused[0][1]
            await in_session(state, lambda s: results.add_write_errors(s, [(monitor.id, result.at, "result", why)]))
            raise NotStored(f"The check ran, but its result could not be stored: {why}")
        assert done.error is not None  # neither written nor refused: the database is away
        raise done.error

    async def _write(self, session: AsyncSession, outcomes: list[results.Outcome]) -> None:
        await self.record(session, outcomes)  # what was recorded is not writes.write's business

    @staticmethod
    async def try_out(fields: dict[str, Any], timeout: float) -> Result:
        """One check of a monitor that is not saved, by its ``fields``, within ``timeout`` seconds at most."""
        monitor = types.SimpleNamespace(**{**fields, "timeout": min(fields["timeout"], timeout)})
        return await kinds.run(loop_state(), monitor)

    @staticmethod
    async def probe(urls: Sequence[str], timeout: float) -> list[Result]:
        """One HTTP check of each URL at once, nothing stored."""
        state = loop_state()
        return await asyncio.gather(
            *(kinds.KINDS["http"].check(state, Target(url, timeout=timeout, rules=Expectations())) for url in urls)
        )


def snapshot(monitor: Any) -> types.SimpleNamespace:
    """What a check needs of an ORM monitor, as plain attributes another loop may read."""
    return types.SimpleNamespace(**{column.name: getattr(monitor, column.name) for column in claims.CLAIM_COLUMNS})


def make_pruner(settings: CheckSettings) -> Callable[[types.SimpleNamespace], Coroutine[Any, Any, None]]:
    raw = datetime.timedelta(hours=settings.raw_retention_hours)
    hourly = datetime.timedelta(days=settings.hourly_retention_days)

    async def prune_history(state: types.SimpleNamespace) -> None:
        """Raw results past their retention, hourly rollups past theirs; daily rollups stay."""
        while True:
            await asyncio.sleep(PRUNE_EVERY)
            now = utcnow()
            prune = functools.partial(results.prune, raw_before=now - raw, hourly_before=now - hourly)
            while await in_session(state, prune):
                await asyncio.sleep(0)  # others' turn between chunks

    return prune_history


def add_flip_listener(config: Any, listener: results.FlipListener | str) -> None:
    find(config.registry, Monitoring).on_flips.append(config.maybe_dotted(listener))


def add_check_listener(config: Any, listener: Callable[[Result], object] | str) -> None:
    find(config.registry, Monitoring).on_check.append(config.maybe_dotted(listener))


def includeme(config: Any) -> None:
    config.include("myapp.accounts")
    config.include("myapp.outbound")
    config.include("myapp.on_demand")
    registry = config.registry
    settings = find(registry, CheckSettings)
    monitoring = provide(registry, Monitoring(settings))
    find(registry, Throttle).limits["probe_user"] = Limit(settings.probes_per_hour, datetime.timedelta(hours=1))
    config.add_directive("add_flip_listener", add_flip_listener)
    config.add_directive("add_check_listener", add_check_listener)
    if settings.scheduler:
        config.add_background_task(monitoring.scheduler.run, name="monitors.scheduler")
    config.add_background_task(make_pruner(settings), name="monitors.prune")
    config.add_cleanup_ctx(kinds.dns.resolvers(registry))
    pinger = provide(registry, Pinger(find(registry, PingSettings), monitoring.record))
    config.add_background_task(pinger.run, name="monitors.pings")
    # what a monitor checks, in words, wherever a page shows one (monitors, status pages, alerts)
    add_to_templates(config, {"address": kinds.address})
    config.scan(".pings")
