"""The scheduler's claims: which due monitors one process takes, and when it checks each.  Core statements.

A claimed row's ``due_at`` becomes the time its claim runs out, after which any process may retake it
(docs/operations.md, "Several processes"); ``results.record`` ends the claim with the check's result.
"""

import dataclasses
import datetime
import functools

from sqlalchemy import bindparam, select

from ..models import Monitor
from ..models.claims import BY_OWNER, shared_fairly, take
from ..models.meta import utcnow
from .kinds import KINDS

monitors = Monitor.__table__
#: a claim not settled by a result this long after the check's timeout is retaken by any process
RETAKE_MARGIN = datetime.timedelta(seconds=10)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A due monitor taken by one process: check it at ``start_at`` (``due_at`` was its time)."""

    monitor_id: int
    due_at: datetime.datetime
    start_at: datetime.datetime
    row: object  # what the check needs of the monitor (its kind's target() reads it)

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
            shared_fairly,
            shares=[(BY_OWNER, per_owner, running)],
            exempt=lambda row: _start(row, now) > now,
        )

    def retake(rows):
        last_start = max(_start(row, now) for row in rows)
        return last_start + datetime.timedelta(seconds=max(row.timeout for row in rows)) + RETAKE_MARGIN

    read, taken = await take(
        session, _DUE.limit(limit), monitors, owner, retake, {"until": now + horizon, "busy": busy}, pick
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
