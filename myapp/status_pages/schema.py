"""A status page's fields, declared once with pydantic for the form, the manifest and validation."""

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from ..validation import Invalid, fields_of, no_control_characters

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$")
MAX_MONITORS = 100


class StatusPageFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    slug: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=60)]
    show_urls: bool = False
    monitors: list[int] = Field(default_factory=list, max_length=MAX_MONITORS)

    @field_validator("title")
    @classmethod
    def _title(cls, value):
        return no_control_characters(value, "a title")

    @field_validator("slug")
    @classmethod
    def _slug(cls, value):
        if not SLUG.match(value):
            raise ValueError("3-60 letters, digits and dashes (a-z, 0-9, -), not starting or ending with a dash")
        return value

    @field_validator("monitors")
    @classmethod
    def _monitors(cls, value):
        return list(dict.fromkeys(value))


def validate(data):
    try:
        return StatusPageFields.model_validate(data).model_dump()
    except ValidationError as exc:
        raise Invalid(fields_of(exc)) from None
