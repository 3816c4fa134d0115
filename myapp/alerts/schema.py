"""A channel's fields, declared once with pydantic for the JSON API and the form."""

import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, field_validator

from ..models.alert import CHANNEL_EVENTS
from ..text import duration
from ..validation import Invalid, Reply, fields_of, no_control_characters
from .kinds import KINDS, NAMES
from .tables import EVENTS


class ChannelFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    kind: Literal[NAMES]
    target: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = None
    slack: bool = False
    events: list[Literal[CHANNEL_EVENTS]] | None = Field(
        None,
        max_length=len(CHANNEL_EVENTS),
        description="what it is told of: down, up, degraded, certificate (a DOWN for a certificate that expires soon "
        "or has); null: all",
    )
    remind_every: int | None = Field(
        None, ge=1, le=7 * 86400, description="while a monitor stays DOWN, remind every so many seconds; null: never"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        return no_control_characters(value, "a name")

    @field_validator("target")
    @classmethod
    def _target(cls, value, info: ValidationInfo):
        return target(value, info)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value, info: ValidationInfo):
        if value is not None and not takes(info, "secret"):
            raise ValueError("a secret signs webhooks; other kinds have none")
        return no_control_characters(value, "a secret") if value is not None else None

    @field_validator("slack")
    @classmethod
    def _slack(cls, value, info: ValidationInfo):
        if value and not takes(info, "slack"):
            raise ValueError("Slack's format is for webhooks")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value):
        if value is None:
            return None
        if not value:
            raise ValueError("choose at least one event (or delete the channel)")
        return [event for event in CHANNEL_EVENTS if event in value]  # each once, in one order

    @field_validator("remind_every")
    @classmethod
    def _remind_every(cls, value, info: ValidationInfo):
        least = (info.context or {}).get("min_remind", 300)
        if value is not None and value < least:
            raise ValueError(f"leave at least {least} seconds ({duration(least)}) between reminders")
        return value


def target(value, info):
    """The target as its kind validates it (a wrong kind is said on its own field)."""
    kind = KINDS.get(info.data.get("kind"))
    return value if kind is None else kind.validate_target(value, info.context or {})


def takes(info, option):
    """Whether the channel's kind (as validated so far) takes ``option``; an unknown kind is said elsewhere."""
    kind = KINDS.get(info.data.get("kind"))
    return kind is None or option in kind.options


def validate(data, context, current=None):
    """Clean channel fields from ``data`` (over ``current`` for a change), or Invalid naming each bad field."""
    try:
        merged = ChannelFields.model_validate({**(current or {}), **data}, context=context).model_dump()
    except ValidationError as exc:
        raise Invalid(fields_of(exc)) from None
    return merged if current is None else {name: merged[name] for name in data}


# what the API answers


class Channel(Reply):
    id: int
    name: str
    kind: Literal[NAMES]
    target: str = Field(description="the webhook's URL, the e-mail address, or the Apprise URL with its secrets masked")
    has_secret: bool = Field(description="whether webhook bodies are signed (the secret is never shown)")
    slack: bool
    events: list[Literal[CHANNEL_EVENTS]] = Field(description="what it is told of")
    remind_every: int | None = Field(description="seconds between reminders while a monitor stays DOWN")
    confirmed: bool = Field(description="whether it receives alerts: an e-mail address once its owner confirmed it")
    created_at: datetime.datetime
    updated_at: datetime.datetime


class Service(Reply):
    title: str
    schemes: list[str] = Field(description="what its Apprise URLs start with")
    example: str
    help: str


class ChannelKind(Reply):
    name: Literal[NAMES]
    title: str
    target: str = Field(description="what the channel's target is")
    help: str
    options: list[str] = Field(description="the optional fields it takes: secret, slack")
    services: list[Service] | None = Field(None, description="Apprise: the services offered")


class ChannelKindList(Reply):
    kinds: list[ChannelKind]


class ChannelList(Reply):
    channels: list[Channel]


class Sending(Reply):
    """A message on its way, that the request did not wait for."""

    status: Literal["sending"]
    message: str


class Attempt(Reply):
    ok: bool
    status_code: int | None
    latency_ms: int | None
    error: str | None


class Delivery(Reply):
    id: int
    event: Literal[EVENTS]
    monitor: str | None = Field(description="the monitor's name")
    status: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: str | None
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    next_attempt_at: datetime.datetime | None


class DeliveryList(Reply):
    deliveries: list[Delivery]
