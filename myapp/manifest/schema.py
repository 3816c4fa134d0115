"""A manifest: a user's monitors, channels and status pages as one document, matched by name.

The same fields and checks as the API's (each spec is the area's own model), with
references by name instead of ids: a monitor names its channels, a status page its
monitors.  A channel's secret may be given (it is never exported), and so may an Apprise URL.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from ..alerts.kinds import KINDS
from ..alerts.schema import ChannelFields, target
from ..monitors.schema import MAX_CHANNELS_PER_MONITOR, MonitorFields
from ..status_pages.schema import MAX_MONITORS, StatusPageFields

MAX_ITEMS = 10000
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class MonitorSpec(MonitorFields):
    channels: list[Name] = Field(
        default_factory=list,
        max_length=MAX_CHANNELS_PER_MONITOR,
        description="names of channels that hear about this monitor",
    )


class ChannelSpec(ChannelFields):
    #: an Apprise URL holds the service's tokens and is never exported: a manifest may leave it out of a
    #: channel that exists (it is kept); a new channel needs it
    target: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)] | None = Field(
        None, validate_default=True
    )

    @field_validator("target")
    @classmethod
    def _target(cls, value, info: ValidationInfo):
        if value is not None:
            return target(value, info)
        kind = KINDS.get(info.data.get("kind"))
        if kind is not None and not kind.secret_target:
            raise ValueError(f"a {kind.title.lower()} channel needs its target")
        return None


class StatusPageSpec(StatusPageFields):
    monitors: list[Name] = Field(
        default_factory=list, max_length=MAX_MONITORS, description="names of the monitors shown, in order"
    )


def duplicates(names):
    seen, twice = set(), []
    for name in names:
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    return twice


class Manifest(BaseModel):
    """Everything a user monitors, in one document: what ``GET /api/export`` gives and ``POST /api/apply`` takes."""

    model_config = ConfigDict(extra="forbid", strict=True)

    version: Literal[1] = 1
    channels: list[ChannelSpec] = Field(default_factory=list, max_length=1000)
    monitors: list[MonitorSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    status_pages: list[StatusPageSpec] = Field(default_factory=list, max_length=1000)

    @field_validator("channels", "monitors")
    @classmethod
    def _unique_names(cls, items):
        twice = duplicates(item.name for item in items)
        if twice:
            raise ValueError(f"names must be unique: {twice[0]!r} is used twice")
        return items

    @field_validator("status_pages")
    @classmethod
    def _unique_slugs(cls, items):
        twice = duplicates(item.slug for item in items)
        if twice:
            raise ValueError(f"slugs must be unique: {twice[0]!r} is used twice")
        return items

    @model_validator(mode="after")
    def _references(self):
        channels = {c.name for c in self.channels}
        for monitor in self.monitors:
            missing = [name for name in monitor.channels if name not in channels]
            if missing:
                raise ValueError(f"monitor {monitor.name!r} alerts {missing[0]!r}, which is not among the channels")
        monitors = {m.name for m in self.monitors}
        for page in self.status_pages:
            missing = [name for name in page.monitors if name not in monitors]
            if missing:
                raise ValueError(f"status page {page.slug!r} shows {missing[0]!r}, which is not among the monitors")
        return self
