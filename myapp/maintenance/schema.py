"""A maintenance window's fields, declared once with pydantic for the API, the form and validation."""

import datetime
import re
import zoneinfo
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, field_validator

from ..validation import Invalid, Reply, fields_of, no_control_characters

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MAX_MINUTES = 7 * 24 * 60
MAX_MONITORS = 1000
UTC = datetime.UTC


class WindowFields(BaseModel):
    #: validate_default: a field that its kind requires is checked even when missing
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    monitor_ids: list[Annotated[int, Field(gt=0, lt=2**31)]] | None = Field(
        None, min_length=1, max_length=MAX_MONITORS, description="null: every monitor of the user, now and to come"
    )
    monitor_id: int | None = Field(
        None, gt=0, lt=2**31, deprecated=True, description="the older spelling of monitor_ids with one monitor"
    )
    announce: bool = Field(False, description="show it ahead of time on status pages showing one of its monitors")
    kind: Literal["once", "weekly"]
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    days: list[Literal[DAYS]] | None = Field(None, min_length=1, max_length=7)
    start_time: str | None = None
    duration_minutes: int | None = Field(None, ge=1, le=MAX_MINUTES)
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        return no_control_characters(value, "a name")

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _moment(cls, value):
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError("a time such as 2026-12-01T22:00:00Z")
        try:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("a time such as 2026-12-01T22:00:00Z") from None
        if moment.tzinfo is None:
            raise ValueError("say its time zone: end it with Z (UTC) or +01:00")
        if not 1970 <= moment.year <= 9998:  # in UTC it may cross into year 0 or 10000, which cannot be
            raise ValueError("a year from 1970 to 9998")
        return moment.astimezone(UTC).replace(tzinfo=None)

    @field_validator("ends_at")
    @classmethod
    def _ends(cls, value, info: ValidationInfo):
        starts = info.data.get("starts_at")
        if info.data.get("kind") == "once" and None not in (starts, value) and value <= starts:
            raise ValueError("it must end after it starts")
        return value

    @field_validator("starts_at", "ends_at", "days", "start_time", "duration_minutes", "timezone")
    @classmethod
    def _required_by_kind(cls, value, info: ValidationInfo):
        kind = info.data.get("kind")
        if value is None and kind and info.field_name in REQUIRED[kind]:
            raise ValueError(f"required for a {kind} window")
        return value

    @field_validator("start_time")
    @classmethod
    def _start_time(cls, value):
        if value is not None and not TIME.match(value):
            raise ValueError("a time of day such as 22:30")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value):
        if value is None:
            return None
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone: use a name such as Europe/Paris or UTC") from None
        return value


class Window(Reply):
    """A window as the API shows it."""

    id: int
    name: str
    monitor_ids: list[int] | None = Field(description="null: every monitor of the user")
    monitor_id: int | None = Field(
        deprecated=True, description="the window's monitor when it has exactly one, else null: read monitor_ids"
    )
    announce: bool
    kind: Literal["once", "weekly"]
    starts_at: datetime.datetime | None
    ends_at: datetime.datetime | None
    days: list[Literal[DAYS]] | None
    start_time: str | None
    duration_minutes: int | None
    timezone: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class WindowList(Reply):
    windows: list[Window]
    next_cursor: str | None


REQUIRED = {"once": ("starts_at", "ends_at"), "weekly": ("days", "start_time", "duration_minutes", "timezone")}


def validate(data, current=None):
    """Clean fields of a window (over ``current`` for a change), or Invalid naming each bad field."""
    current = dict(current or {})
    if "monitor_id" in data:  # the older spelling replaces the window's monitors too
        current.pop("monitor_ids", None)
    try:
        return clean(WindowFields.model_validate({**current, **data}))
    except ValidationError as exc:
        raise Invalid(fields_of(exc)) from None


def clean(window):
    """The fields of a valid window: the other kind's fields dropped, the days in order, and ``monitor_ids``
    (None: all of the user's) each once, however they were given."""
    fields = window.model_dump()
    one = fields.pop("monitor_id")
    if "monitor_id" in window.model_fields_set:
        if "monitor_ids" in window.model_fields_set:
            raise Invalid({"monitor_id": "give monitor_ids alone (monitor_id is its older spelling, for one)"})
        fields["monitor_ids"] = None if one is None else [one]
    if fields["monitor_ids"] is not None:
        fields["monitor_ids"] = sorted(set(fields["monitor_ids"]))
    for kind, names in REQUIRED.items():
        if kind != fields["kind"]:
            fields.update(dict.fromkeys(names))
    fields["days"] = ",".join(d for d in DAYS if d in fields["days"]) if fields["days"] else None
    return fields


def as_fields(window, monitor_ids):
    """A window's fields as the API shows (and validate takes) them; ``monitor_ids`` its monitors'."""
    return {
        "name": window.name,
        "monitor_ids": None if window.all_monitors else monitor_ids,
        "announce": window.announce,
        "kind": window.kind,
        "starts_at": window.starts_at.isoformat() + "Z" if window.starts_at else None,
        "ends_at": window.ends_at.isoformat() + "Z" if window.ends_at else None,
        "days": window.days.split(",") if window.days else None,
        "start_time": window.start_time,
        "duration_minutes": window.duration_minutes,
        "timezone": window.timezone,
    }
