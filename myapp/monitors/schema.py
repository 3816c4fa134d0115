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
    model_validator,
)

from ..checks.kinds import KINDS, NAMES
from ..models.monitor import STATES
from ..outbound import check_url
from ..validation import Invalid, PageQuery, Reply, fields_of, no_control_characters

MAX_INTERVAL = max(kind.max_interval for kind in KINDS.values())  # each kind holds its own below
MAX_TIMEOUT = 60
READ_ONLY = ("id", "ping_url", "state", "state_since", "last_check", "uptime", "created_at", "updated_at")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class CommonFields(BaseModel):
    """What every monitor has, whatever its kind."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    kind: Literal[NAMES] = Field("http", description="what is checked: " + ", ".join(NAMES))
    interval: int = Field(60, le=MAX_INTERVAL, description="seconds; a heartbeat's period")
    timeout: int = Field(10, ge=1, le=MAX_TIMEOUT)
    degraded_ms: int | None = Field(None, ge=1, le=MAX_TIMEOUT * 1000)
    tls_days: int = Field(14, ge=0, le=3650, description="HTTPS, TCP with TLS: a certificate expiring sooner fails")
    failures_to_down: int = Field(2, ge=1, le=10)
    successes_to_up: int = Field(1, ge=1, le=10)
    paused: bool = False
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    notify_degraded: bool = False
    public_badges: bool = Field(False, description="anyone may fetch its status and uptime badges (/badges/{id}/...)")

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
        most = KINDS[info.data.get("kind", "http")].max_interval
        if value > most:
            raise ValueError(f"at most {most} seconds")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value, info: ValidationInfo):
        interval, kind = info.data.get("interval"), KINDS.get(info.data.get("kind"))
        if interval is not None and value > interval and kind is not None and kind.active:
            raise ValueError("at most the interval")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value):
        return list(dict.fromkeys(no_control_characters(tag, "a tag") for tag in value))


REQUIRED = tuple(dict.fromkeys(name for kind in KINDS.values() for name in kind.required))


class MonitorFields(*(kind.settings for kind in reversed(KINDS.values())), CommonFields):
    """What a user sets on a monitor: the common fields, then each kind's.  The defaults are those of a new
    monitor (of its kind: ``CheckKind.defaults``); the fields of other kinds than the monitor's are left at
    their defaults, whatever was given."""

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data):
        if isinstance(data, dict) and (kind := KINDS.get(data.get("kind", "http"))) is not None:
            data = {**kind.defaults, **data}
        return data

    @field_validator(*REQUIRED, mode="after")
    @classmethod
    def _required(cls, value, info: ValidationInfo):  # the fields are validate_default: checked when left out
        kind = KINDS.get(info.data.get("kind"))
        if value is None and kind is not None and info.field_name in kind.required:
            raise ValueError("required")
        return value

    @model_validator(mode="after")
    def _kind_fields(self):
        kind = KINDS[self.kind]
        for other in KINDS.values():
            for name in other.fields:
                if name not in kind.fields:
                    setattr(self, name, type(self).model_fields[name].get_default(call_default_factory=True))
        return self


FIELDS = tuple(MonitorFields.model_fields)


def validate(data, context):
    """Clean fields for a new monitor from ``data``, or Invalid (422) naming each bad field."""
    try:
        return MonitorFields.model_validate(data, context=context).model_dump()
    except ValidationError as exc:
        raise Invalid(fields_of(exc, READ_ONLY)) from None


def validate_patch(current, patch, context):
    """The monitor's fields after ``patch``, checked as a whole (a new interval may make the timeout too long),
    and those a new kind leaves at their defaults."""
    try:
        merged = MonitorBody.model_validate({**current, **patch}, context=context).model_dump()
    except ValidationError as exc:
        raise Invalid(fields_of(exc, READ_ONLY)) from None
    return {name: merged[name] for name in merged if name in patch or current.get(name, merged[name]) != merged[name]}


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
        None, description="text in the name, URL or host, or a tag"
    )
    tag: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = Field(
        None, description="monitors with this tag"
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
    ping_url=(str | None, Field(description="a heartbeat's: GET or POST it, or /start, /fail, /<exit status>")),
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


class PingRecord(Reply):
    id: int
    at: datetime.datetime
    event: Literal["success", "start", "fail"]
    exit_status: int | None
    duration_ms: int | None = Field(description="since the /start before it")
    method: str
    source: str | None = Field(description="the sender's address")
    body: str | None


class PingPage(Reply):
    pings: list[PingRecord]
    next_cursor: str | None


class Refused(Reply):
    at: datetime.datetime = Field(description="when the ping came, or the check ran")
    what: Literal["ping", "result"]
    error: str = Field(description="why, in the database's words")


class RefusedPage(Reply):
    refused: list[Refused]


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
