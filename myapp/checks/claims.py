"""The scheduler's claims: which due monitors one process takes, and when it checks each.  Core statements.

A claimed row's ``due_at`` becomes the time its claim runs out, after which any process may retake it
(docs/operations.md, "Several processes"); ``results.record`` ends the claim with the check's result.
"""

import dataclasses
import datetime
import functools
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Monitor
from ..models.claims import BY_OWNER, shared_fairly, take
from ..models.meta import table_of, utcnow
from .kinds import KINDS

monitors = table_of(Monitor)
#: a claim not settled by a result this long after the check's timeout is retaken by any process
RETAKE_MARGIN = datetime.timedelta(seconds=10)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A due monitor taken by one process: check it at ``start_at`` (``due_at`` was its time)."""

    monitor_id: int
    due_at: datetime.datetime
    start_at: datetime.datetime
    row: Any  # what the check needs of the monitor (its kind's target() reads it)

    @property
    def retaken(self) -> bool:
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


async def claim(
    session: AsyncSession,
    owner: str,
    limit: int,
    horizon: datetime.timedelta,
    per_owner: int | None = None,
    running: dict[int, int] | None = None,
    now: datetime.datetime | None = None,
) -> tuple[list[Claim], bool]:
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
    busy: list[int] = []
    pick = None
    if per_owner is not None:
        busy = [user_id for user_id, count in running.items() if count >= per_owner]
        # each owner within per_owner of the checks that start now (late, or retaken); those due later start
        # at their time, spread as their owner set them
        pick = functools.partial(
            shared_fairly,
            shares=[(BY_OWNER, per_owner, running)],
            exempt=lambda row: _start(row, now) > now,
        )

    def retake(rows: Sequence[Row[Any]]) -> datetime.datetime:
        last_start = max(_start(row, now) for row in rows)
        return last_start + datetime.timedelta(seconds=max(row.timeout for row in rows)) + RETAKE_MARGIN

    read, taken = await take(
        session, _DUE.limit(limit), monitors, owner, retake, {"until": now + horizon, "busy": busy}, pick
    )
    return [Claim(row.id, row.due_at, _start(row, now), row) for row in taken], len(read) == limit


async def still_claimed(session: AsyncSession, owner: str, monitor_ids: Collection[int]) -> set[int]:
    """Of ``monitor_ids``, those still claimed by ``owner``: not deleted, paused or retaken since."""
    return set(
        await session.scalars(select(Monitor.id).where(Monitor.id.in_(monitor_ids), Monitor.claimed_by == owner))
    )


def _start(row: Any, now: datetime.datetime) -> datetime.datetime:
    """When a claimed row is checked: at its time, or at once when it is late.  A claim that ran out (its
    process stopped, or could not write the result: the check may have run) is checked again half an
    interval after its time at the soonest, so that no two checks run closer than that, and never before
    the claim has run out (its ``due_at``: a row is claimed up to HORIZON before it is due)."""
    due: datetime.datetime = row.due_at
    if row.claimed_by is None:
        return max(due, now)
    scheduled: datetime.datetime = row.next_check_at or due
    return max(now, due, scheduled + datetime.timedelta(seconds=row.interval / 2))
