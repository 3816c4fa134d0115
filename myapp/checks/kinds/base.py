"""What every check kind is: the interface the schema, the scheduler, the pages and the manifest use."""

import datetime
import random
import types
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from ..state import Result

#: a monitor as a kind reads it: its fields as attributes (a row, an ORM object, a SimpleNamespace)
Row = Any


def next_slot(scheduled: datetime.datetime, interval: float, now: datetime.datetime) -> datetime.datetime:
    """The first time after ``now`` on the schedule that ``scheduled`` is part of (checks missed are skipped)."""
    step = datetime.timedelta(seconds=interval)
    if scheduled > now:
        return scheduled
    return scheduled + step * ((now - scheduled) // step + 1)


class CheckKind:
    """One kind of check.  A subclass names itself, brings its settings as a pydantic model (its fields
    and their checks, which become part of every monitor's fields: schema.MonitorFields), and runs one
    check.  A monitor of another kind has this kind's fields at their defaults."""

    name = ""  # stored in monitors.kind
    title = ""  # for people: "HTTP(S)"
    settings: type[BaseModel] = BaseModel
    shared: tuple[str, ...] = ()  # fields of another kind's settings this kind uses too
    required: tuple[str, ...] = ()  # fields a monitor of this kind must be given (their Field: validate_default)
    defaults: dict[
        str, Any
    ] = {}  # values a new monitor of this kind takes for fields it is not given (common ones too)
    max_interval = 86400
    active = True  # checked by reaching out (check now, test, probe); False: by what it is sent (heartbeats)

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of this kind's fields (of the monitor's)."""
        return (*self.settings.model_fields, *self.shared)

    def target(self, row: Row) -> Any:
        """What a check needs of a monitor (a row or object with the monitor's fields as attributes)."""
        raise NotImplementedError

    async def check(self, state: types.SimpleNamespace, target: Any) -> Result:
        """One check of ``target`` on the loop whose state this is: a state.Result, with the reason in words
        when it fails.  Never raises for the target's sake (a cancelled check is cancelled)."""
        raise NotImplementedError

    def address(self, row: Row) -> str:
        """What is checked, in a few words for lists and messages."""
        raise NotImplementedError

    def first_due(self, row: Row, now: datetime.datetime, soon: bool = False) -> datetime.datetime:
        """When a new monitor is first checked: at a random moment within its first interval, so that a thousand
        monitors made at once are not checked at once (``soon``, resumed: within 5 s)."""
        return now + datetime.timedelta(seconds=random.uniform(0, min(row.interval, 5) if soon else row.interval))

    def own_fields(self, row: Row) -> dict[str, Any]:
        """Fields a monitor of this kind is given by the kind itself, where ``row`` lacks them (a heartbeat's ping
        token): {name: value}."""
        return {}

    def rescheduled(self, row: Row, changes: Mapping[str, Any], now: datetime.datetime) -> datetime.datetime | None:
        """When a monitor that is not paused is next checked, after ``changes`` ({field: value}, applied to ``row``
        already); None: as it was.  A shorter interval brings the next check closer."""
        soonest = now + datetime.timedelta(seconds=row.interval)
        return soonest if row.next_check_at and row.next_check_at > soonest else None

    def deadline(self, row: Row, after: datetime.datetime) -> datetime.datetime:
        """A kind checked by its pings (not ``active``): when a monitor pinged at ``after`` is late."""
        raise NotImplementedError

    def next_due(self, row: Row, scheduled: datetime.datetime, at: datetime.datetime) -> datetime.datetime:
        """When the scheduler checks again after a check that started at ``at``, of a monitor due at ``scheduled``:
        the first slot of its schedule at least half an interval after ``at``.  A check that started late (its
        process was busy, or had just started) is not followed by another close behind it: no two checks of a
        monitor are closer than half an interval."""
        return next_slot(scheduled, row.interval, at + datetime.timedelta(seconds=row.interval / 2))

    def describe(self) -> dict[str, Any]:
        """The kind for forms and clients: its name, title, and its fields with their descriptions."""
        return {
            "name": self.name,
            "title": self.title,
            "fields": {name: field.description or "" for name, field in self.settings.model_fields.items()},
        }
