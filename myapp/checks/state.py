"""The state machine of a monitor: from its current state, streaks and one result, the next.  Pure.

PENDING until decided; ``failures_to_down`` failures in a row make it DOWN (an incident
opens, dated from the first failure of the streak); ``successes_to_up`` passes in a row
bring it UP, or DEGRADED when slower than ``degraded_ms``; an UP monitor that passes
slowly is DEGRADED at once, and back UP at once.  PAUSED moves only by the user.
In a maintenance window it is MAINTENANCE whatever the result (an open incident ends,
quietly, and none opens); after it, it is decided afresh, as a PENDING one is.
"""

import dataclasses
import datetime
from typing import Any


@dataclasses.dataclass(frozen=True)
class Result:
    at: datetime.datetime
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None
    slow: bool = False
    network: bool = False  # failed to reach the server at all (timeout, refused, DNS): maybe our own network


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What the state machine reads of a monitor row."""

    state: str
    fail_streak: int
    pass_streak: int
    streak_started_at: datetime.datetime | None
    streak_error: str | None
    failures_to_down: int
    successes_to_up: int

    @classmethod
    def of(cls, row: Any) -> "Snapshot":
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class Transition:
    """The new values of the row, and what the flip means for incidents."""

    state: str
    fail_streak: int
    pass_streak: int
    streak_started_at: datetime.datetime | None
    streak_error: str | None
    flipped: bool
    opens_incident: bool  # flipped to DOWN: started at the streak's first failure, caused by its error
    closes_incident: bool  # flipped from DOWN


def step(now: Snapshot, result: Result, maintenance: bool = False) -> Transition:
    """The next state of ``now`` (a Snapshot) after ``result``, in a maintenance window or not."""
    if now.state == "PAUSED":
        return Transition(
            now.state, now.fail_streak, now.pass_streak, now.streak_started_at, now.streak_error, False, False, False
        )
    if maintenance:
        entering = now.state != "MAINTENANCE"
        return Transition("MAINTENANCE", 0, 0, None, None, entering, False, entering and now.state == "DOWN")
    before = "PENDING" if now.state == "MAINTENANCE" else now.state
    if result.ok:
        passes, failures = now.pass_streak + 1, 0
        started, cause = None, None
        healthy = "DEGRADED" if result.slow else "UP"
        if before in ("UP", "DEGRADED"):
            state = healthy
        else:  # PENDING or DOWN: it takes successes_to_up passes in a row
            state = healthy if passes >= now.successes_to_up else before
    else:
        passes, failures = 0, now.fail_streak + 1
        started = now.streak_started_at if now.fail_streak else result.at
        cause = now.streak_error if now.fail_streak else result.error
        state = "DOWN" if failures >= now.failures_to_down else before
    flipped = state != now.state
    return Transition(
        state,
        failures,
        passes,
        started,
        cause,
        flipped,
        opens_incident=flipped and state == "DOWN",
        closes_incident=flipped and now.state == "DOWN",
    )
