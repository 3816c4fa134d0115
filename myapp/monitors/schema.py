"""A monitor's fields, declared once with pydantic: the JSON API validates against them.

Errors come out in the API's usual shape: one message per bad field, unknown fields
included (``fields_of``).  Settings that the rules depend on (``monitors.min_interval``,
the guard against private targets) come in through the validation context.
"""

import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)

from ..models.monitor import STATES
from ..outbound import check_url
from ..validation import Invalid, PageQuery, Reply, fields_of, no_control_characters
from .kinds import KINDS, NAMES

MAX_INTERVAL = 86400
MAX_TIMEOUT = 60
READ_ONLY = ("id", "state", "state_since", "last_check", "uptime", "created_at", "updated_at")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class CommonFields(BaseModel):
    """What every monitor has, whatever its kind."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    kind: Literal[NAMES] = Field("http", description="what is checked: " + ", ".join(NAMES))
    interval: int = Field(60, le=MAX_INTERVAL)
    timeout: int = Field(10, ge=1, le=MAX_TIMEOUT)
    degraded_ms: int | None = Field(None, ge=1, le=MAX_TIMEOUT * 1000)
    failures_to_down: int = Field(2, ge=1, le=10)
    successes_to_up: int = Field(1, ge=1, le=10)
    paused: bool = False
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    notify_degraded: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        return no_control_characters(value, "a name")

    @field_validator("interval")
    @classmethod
    def _interval(cls, value, info: ValidationInfo):
        least = (info.context or {}).get("min_interval", 30)
        if value < least:
            raise ValueError(f"at least {least} seconds")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value, info: ValidationInfo):
        interval = info.data.get("interval")
        if interval is not None and value > interval:
            raise ValueError("at most the interval")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value):
        return list(dict.fromkeys(no_control_characters(tag, "a tag") for tag in value))


class MonitorFields(*(kind.settings for kind in reversed(KINDS.values())), CommonFields):
    """What a user sets on a monitor: the common fields, then each kind's.  The defaults are those of a new
    monitor."""


FIELDS = tuple(MonitorFields.model_fields)


def validate(data, context):
    """Clean fields for a new monitor from ``data``, or Invalid (422) naming each bad field."""
    try:
        return MonitorFields.model_validate(data, context=context).model_dump()
    except ValidationError as exc:
        raise Invalid(fields_of(exc, READ_ONLY)) from None


def validate_patch(current, patch, context):
    """The monitor's fields after ``patch``, checked as a whole (a new interval may make the timeout too long)."""
    try:
        merged = MonitorBody.model_validate({**current, **patch}, context=context).model_dump()
    except ValidationError as exc:
        raise Invalid(fields_of(exc, READ_ONLY)) from None
    return {name: merged[name] for name in patch}


ChannelId = Annotated[int, Field(gt=0, lt=2**31)]
MAX_CHANNELS_PER_MONITOR = 20


class MonitorBody(MonitorFields):
    """A monitor as the API takes it: its fields and the channels that hear about it."""

    channels: list[ChannelId] | None = Field(
        None, max_length=MAX_CHANNELS_PER_MONITOR, description="ids of the caller's channels to alert"
    )


class Probe(BaseModel):
    """An ad-hoc check of up to 20 URLs: nothing is stored."""

    model_config = ConfigDict(extra="forbid", strict=True)

    urls: list[Annotated[str, StringConstraints(max_length=2048)]] = Field(min_length=1, max_length=20)
    timeout: int = Field(10, ge=1, le=60)

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls, info: ValidationInfo):
        guard = (info.context or {}).get("guard")
        problems = []
        for n, url in enumerate(urls):
            try:
                check_url(url, guard)
            except ValueError as exc:
                problems.append(f"#{n + 1}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return urls


def _upper(value):
    return value.upper() if isinstance(value, str) else value


class MonitorQuery(PageQuery):
    state: Annotated[Literal[STATES], BeforeValidator(_upper)] | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        None, description="text in the name or URL"
    )


class IncidentQuery(PageQuery):
    open: bool = Field(False, description="true: only incidents still open")


# what the API answers


class CheckResult(Reply):
    at: datetime.datetime
    ok: bool
    status_code: int | None
    latency_ms: int | None
    error: str | None


class CheckRunning(Reply):
    """A check that took longer than the request waits: it goes on, and its result is stored."""

    status: Literal["running"]
    message: str


class Uptime(Reply):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    day: float | None = Field(alias="24h", description="% of checks that passed in the last 24 hours")
    week: float | None = Field(alias="7d")
    month: float | None = Field(alias="30d")


#: a monitor as the API shows it: the fields as stored (without the checks on input, which depend on settings
#: that may have changed since), and what the service knows of it
Monitor = create_model(
    "Monitor",
    __base__=Reply,
    **{name: (info.annotation, info) for name, info in MonitorFields.model_fields.items()},
    id=(int, ...),
    channels=(list[int], ...),
    state=(Literal[STATES], ...),
    state_since=(datetime.datetime | None, ...),
    last_check=(CheckResult | None, ...),
    uptime=(Uptime, ...),
    created_at=(datetime.datetime, ...),
    updated_at=(datetime.datetime, ...),
)


class MonitorPage(Reply):
    monitors: list[Monitor]
    next_cursor: str | None


class ResultPage(Reply):
    results: list[CheckResult]
    next_cursor: str | None


class Incident(Reply):
    id: int
    monitor_id: int
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    cause: str | None


class IncidentPage(Reply):
    incidents: list[Incident]
    next_cursor: str | None


class ProbeResult(Reply):
    url: str
    ok: bool
    status_code: int | None
    latency_ms: int | None
    error: str | None


class ProbeResults(Reply):
    results: list[ProbeResult]
