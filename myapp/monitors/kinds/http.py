"""HTTP(S): a request to a URL, whose answer must meet the monitor's rules (status, keyword, JSON value,
certificate).  The request itself is checker.py's; the rules are rules.py's."""

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from ...models.monitor import METHODS
from ...outbound import check_url
from ...validation import no_control_characters
from ..checker import Target, check
from ..rules import json_path_steps, normalize_status_spec
from .base import CheckKind

MAX_BODY = 64 * 1024
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
#: headers the HTTP client sets itself from the request, hop-by-hop headers, and those that would make a
#: check claim to come through a proxy or from another client (a target may trust them)
FORBIDDEN_HEADERS = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "forwarded",
    "via",
    "x-real-ip",
    "client-ip",
    "true-client-ip",
}
FORBIDDEN_PREFIXES = ("proxy-", "x-forwarded-")
Rule = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class HttpSettings(BaseModel):
    """The fields of an HTTP(S) check."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        None, description="HTTP: http:// or https://", validate_default=True
    )
    method: Literal[METHODS] = "GET"
    headers: dict[str, Annotated[str, StringConstraints(max_length=1000)]] | None = None
    body: Annotated[str, StringConstraints(max_length=MAX_BODY)] | None = Field(None, description="with POST only")
    expect_status: Annotated[str, StringConstraints(max_length=200)] = Field(
        "200-399", description="codes and ranges: 200-299,301"
    )
    keyword: Rule | None = Field(None, description="the body must contain it")
    keyword_absent: Rule | None = Field(None, description="the body must not contain it")
    json_path: Rule | None = Field(None, description="a dotted path into a JSON body: checks.0.status")
    json_value: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="the value at json_path, as text"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value, info: ValidationInfo):
        return None if value is None else check_url(value, (info.context or {}).get("guard"))

    @field_validator("headers")
    @classmethod
    def _headers(cls, value):
        if value is None:
            return None
        if len(value) > 20:
            raise ValueError("at most 20 headers")
        for name, text in value.items():
            if not HEADER_NAME.match(name):
                raise ValueError(f"{name[:40]!r} is not a header name")
            lowered = name.lower()
            if lowered in FORBIDDEN_HEADERS or lowered.startswith(FORBIDDEN_PREFIXES):
                raise ValueError(f"{name} may not be set: the checker sets it, or it is for proxies")
            no_control_characters(text, f"the value of {name}")
        return value or None

    @field_validator("body")
    @classmethod
    def _body(cls, value, info: ValidationInfo):
        if value is not None and info.data.get("method") != "POST":
            raise ValueError("a body is sent with POST only")
        return value

    @field_validator("expect_status")
    @classmethod
    def _expect_status(cls, value):
        return normalize_status_spec(value)

    @field_validator("json_path")
    @classmethod
    def _json_path(cls, value):
        if value is not None:
            json_path_steps(value)
        return value

    @field_validator("json_value")
    @classmethod
    def _json_value(cls, value, info: ValidationInfo):
        if value is not None and not info.data.get("json_path"):
            raise ValueError("give json_path too")
        return value


class Http(CheckKind):
    name, title, settings = "http", "HTTP(S)", HttpSettings
    required = ("url",)

    def target(self, row):
        return Target.of(row)

    def address(self, row):
        return row.url if row.method == "GET" else f"{row.method} {row.url}"

    async def check(self, state, target):
        return await check(state.http, state.guard, target)
