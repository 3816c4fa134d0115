"""Heartbeat (push): the monitor is checked by being pinged (``/ping/<token>``, checks/pings.py) at
least every interval, or on a cron schedule in a time zone; a ping later than that and the grace makes it
DOWN, and so does a ping saying the job failed.

The scheduler notices lateness: a heartbeat's ``due_at`` is its deadline, a ping moves it on, and a
monitor the scheduler claims at its deadline (exactly once across processes, as any check) has had no
ping in time: its "check" is that failure, with no one to reach out to.
"""

import datetime
import functools
import types
import uuid
import zoneinfo
from collections.abc import Mapping
from typing import Annotated, Any

from croniter import CroniterError, croniter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ...identity import token_hash
from ...models.meta import utcnow
from ...text import duration
from ..state import Result
from .base import CheckKind, Row, next_slot

MAX_GRACE = 7 * 86400
#: fields whose change moves a heartbeat's deadline
SCHEDULE = ("kind", "interval", "grace", "cron", "timezone")


@functools.cache
def zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class HeartbeatSettings(BaseModel):
    """The fields of a heartbeat (its period is the interval, unless it has a cron schedule)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    grace: int | None = Field(
        None, ge=1, le=MAX_GRACE, description="heartbeat: seconds a ping may come late before it is DOWN (60)"
    )
    cron: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = Field(
        None, description="heartbeat: when pings are expected, as a cron line (5 fields), instead of the interval"
    )
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = Field(
        None, description="heartbeat: the cron line's time zone, such as Europe/Paris (UTC)"
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: Any) -> Any:
        if not value:
            return None
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError("a cron line has 5 fields: minute hour day-of-month month day-of-week, as 0 3 * * *")
        try:
            croniter(value, utcnow()).get_next(datetime.datetime)
        except CroniterError:
            raise ValueError("this schedule names no time that ever comes (such as the 30th of February)") from None
        return " ".join(value.split())

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: Any) -> Any:
        if not value:
            return None
        if value not in zone_names():
            raise ValueError("a time zone by its IANA name, such as Europe/Paris or UTC")
        return value


def next_fire(cron: str, timezone: str | None, after: datetime.datetime) -> datetime.datetime:
    """The first time after ``after`` (UTC, naive) that ``cron`` in ``timezone`` names, in UTC (naive); a day
    later when there is none (a line saved before it was checked, a time zone gone from the system)."""
    try:
        zone = zoneinfo.ZoneInfo(timezone or "UTC")
        local = after.replace(tzinfo=datetime.UTC).astimezone(zone)
        fire: datetime.datetime = croniter(cron, local).get_next(datetime.datetime)
    except (CroniterError, zoneinfo.ZoneInfoNotFoundError, ValueError):
        return after + datetime.timedelta(days=1)
    return fire.astimezone(datetime.UTC).replace(tzinfo=None)


class Heartbeat(CheckKind):
    name, title, settings = "heartbeat", "Heartbeat (pings)", HeartbeatSettings
    active = False
    defaults = {"grace": 60, "failures_to_down": 1}
    max_interval = 30 * 86400

    def target(self, row: Row) -> Any:
        return row

    def address(self, row: Row) -> str:
        if row.cron:
            return f"pinged at {row.cron} ({row.timezone or 'UTC'}), grace {duration(row.grace or 0)}"
        return f"pinged every {duration(row.interval)}, grace {duration(row.grace or 0)}"

    def expected_by(self, row: Row, after: datetime.datetime) -> datetime.datetime:
        """When the ping after one at ``after`` (UTC) is expected: the next period or cron time, without the grace."""
        if row.cron:
            return next_fire(row.cron, row.timezone, after)
        return after + datetime.timedelta(seconds=row.interval)

    def deadline(self, row: Row, after: datetime.datetime) -> datetime.datetime:
        """When a monitor pinged at ``after`` is late: expected_by and the grace."""
        return self.expected_by(row, after) + datetime.timedelta(seconds=row.grace or 0)

    def first_due(self, row: Row, now: datetime.datetime, soon: bool = False) -> datetime.datetime:
        return self.deadline(row, now)

    def own_fields(self, row: Row) -> dict[str, Any]:
        """The ping token (in the ping URL), and the hash a ping finds its monitor by."""
        if getattr(row, "ping_token", None) is not None:
            return {}
        token = str(uuid.uuid4())
        return {"ping_token": token, "ping_hash": token_hash(token)}

    def rescheduled(self, row: Row, changes: Mapping[str, Any], now: datetime.datetime) -> datetime.datetime | None:
        """A new schedule counts from the last ping (from now, for a monitor that was not a heartbeat)."""
        if not any(name in changes for name in SCHEDULE):
            return None  # a new name or threshold leaves the deadline where the last ping set it
        pinged = row.last_check_at if "kind" not in changes and row.last_check_at else now
        return self.deadline(row, pinged)

    def next_due(self, row: Row, scheduled: datetime.datetime, at: datetime.datetime) -> datetime.datetime:
        """Late already: checked again (and still late, unless pinged) at each later period or cron time."""
        if row.cron:
            return next_fire(row.cron, row.timezone, at)
        return next_slot(scheduled, row.interval, at)

    async def check(self, state: types.SimpleNamespace, target: Any) -> Result:
        expected = (target.next_check_at or target.due_at) - datetime.timedelta(seconds=target.grace or 0)
        return Result(utcnow(), False, None, 0, f"no ping since it was expected at {expected:%Y-%m-%d %H:%M:%S} UTC")
