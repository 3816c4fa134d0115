"""Checks on what clients send, shared by every area: JSON bodies, fields, ids and cursors.

Whatever a client sends, the answer is a 4xx in the usual shape: 400 for a body that
is not a JSON object (too deep, not UTF-8, lone surrogates), 413 when too large, 422
with one message per bad field.
"""

import json
import unicodedata
from typing import Annotated, Any

import yaml as yaml_lib
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge, HTTPUnprocessableEntity

from .services import find
from .text import counted

MAX_JSON_BODY = 64 * 1024
#: ids are positive and fit a signed 64-bit column on every backend
ID_PATTERN = "[0-9]{1,18}"


class Invalid(HTTPUnprocessableEntity):
    """422 with ``fields``: {name: problem}.  Rendered as JSON under /api."""

    def __init__(self, fields, message="Some fields are not valid."):
        super().__init__(message)
        self.fields = fields


class Reply(BaseModel):
    """What the API answers: no field beyond those declared (api.check_responses holds answers to it)."""

    model_config = ConfigDict(extra="forbid")


class Error(Reply):
    """Every error the JSON API answers, whatever its status."""

    error: str = Field(description="the status in words: not_found, unprocessable_entity, ...")
    message: str = Field(description="what went wrong, in a sentence for people")
    fields: dict[str, str] = Field(description="one problem per bad field or parameter (422), else empty")
    request_id: str | None = Field(description="the X-Request-ID of the request, to find it in the logs")


class ValidationContext(dict):
    """What request bodies are validated with (pydantic's context: the guard, the least interval)."""


def validation_context(registry: Any) -> ValidationContext:
    return find(registry, ValidationContext, ValidationContext)


def add_validation_context(registry: Any, **values: Any) -> None:
    validation_context(registry).update(values)


def no_control_characters(value: str, what: str = "it") -> str:
    """``value``, or ValueError when it holds a control character (a tab is text) or a line or paragraph
    separator (U+0085, U+2028, U+2029): text that must stay on one line, in a page, a header or a log."""
    if any(c != "\t" and unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise ValueError(f"{what} must not hold control characters or line breaks")
    return value


def _cursor(value):
    """A cursor as sent in a query: digits only ("" is none)."""
    if value == "":
        return None
    if (
        not isinstance(value, str)
        or not value.isascii()
        or not value.isdigit()
        or len(value) > 19
        or int(value) >= 2**63
    ):
        raise ValueError("use the next_cursor of the previous page")
    return int(value)


class PageQuery(BaseModel):
    """A page of a list: ``limit`` rows after ``cursor`` (the ``next_cursor`` of the previous page)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=100)
    cursor: Annotated[
        int | None, BeforeValidator(_cursor), WithJsonSchema({"type": "string", "pattern": "^[0-9]{0,19}$"})
    ] = Field(None, description="the next_cursor of the previous page")


#: pydantic's error types in the words a form or an API reply uses ({...} from the error's context)
PLAIN = {
    "missing": "required",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "greater_than": "must be more than {gt}",
    "less_than": "must be less than {lt}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
}


def said(error):
    """One pydantic error as a person reads it: "must be at least 10 characters long", not
    "String should have at least 10 characters"; a validator's own words as it wrote them."""
    kind, context = error["type"], error.get("ctx", {})
    if kind in ("too_short", "too_long") and "actual_length" in context:  # a list's length
        bound = context.get("min_length") if kind == "too_short" else context.get("max_length")
        return f"must hold at {'least' if kind == 'too_short' else 'most'} {counted(bound, 'items')}"
    plain = PLAIN.get(kind)
    if plain is None:
        return error["msg"].removeprefix("Value error, ")
    if kind == "string_too_short" and context.get("min_length") == 1:
        return "must not be empty"
    try:
        return plain.format(**context)
    except (KeyError, IndexError):
        return plain


def fields_of(exc, read_only=()):
    """{field: message} from a pydantic ValidationError, one per field, in the API's words."""
    fields = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "body"
        if name in fields:
            continue
        if error["type"] == "extra_forbidden":
            fields[name] = "read-only" if name in read_only else "unknown field"
        else:
            fields[name] = said(error)
    return fields


def paths_of(exc):
    """{"monitors.3.url": problem} from a ValidationError: each problem where it is in a long document."""
    fields = {}
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "body"
        if where not in fields:
            fields[where] = "unknown field" if error["type"] == "extra_forbidden" else said(error)
    return fields


def parse_query(params, model):
    """``model`` of a query string (a MultiDict; a repeated name is a list, which fails a single value), or Invalid."""
    data = {}
    for name in params:
        values = params.getall(name)
        data[name] = values[0] if len(values) == 1 else values
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(
            {
                name: "unknown parameter" if problem == "unknown field" else problem
                for name, problem in fields_of(exc).items()
            }
        ) from None


#: a number in a body fits in 64 bits, or no field takes it (nor a database column)
NUMBER_LIMIT = 2**63


class NumberTooLarge(Invalid):
    def __init__(self):
        super().__init__(
            {"body": "numbers must lie within ±2^63 and be finite"}, "The body holds a number no field takes."
        )


def _bounded(number):
    if number != number or abs(number) >= NUMBER_LIMIT:  # NaN, ±inf, beyond 64 bits
        raise NumberTooLarge()
    return number


def _json_int(text):
    if len(text) > 20:  # before converting: a 4,000-digit int costs time, and past 4,300 digits Python refuses it
        raise NumberTooLarge()
    return _bounded(int(text))


def _json_constant(name):
    raise NumberTooLarge()  # NaN, Infinity, -Infinity: not JSON (RFC 8259), though Python's json reads them


def parse_json(body):
    """The document in ``body`` (bytes), or HTTPBadRequest saying what is wrong with it (Invalid, 422, for a
    number beyond what any field takes)."""
    try:
        data = json.loads(
            body, parse_int=_json_int, parse_float=lambda text: _bounded(float(text)), parse_constant=_json_constant
        )
    except RecursionError:
        raise HTTPBadRequest("The body is nested too deeply.") from None
    except ValueError as exc:  # UnicodeDecodeError included: the body is not UTF-8
        raise HTTPBadRequest(f"The body is not valid JSON: {exc}.") from None
    try:  # "\ud800" is valid JSON, but no text can hold it: it would fail later, in a hash or a database
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise HTTPBadRequest("The body holds a lone surrogate (\\ud800-\\udfff), which is not text.") from None
    return data


def json_object(request, limit=MAX_JSON_BODY, yaml=False):
    """The request's JSON (or, with ``yaml``, YAML) object: 413 when larger than ``limit`` bytes, 400 when it
    is not an object."""
    too_large = f"The body is larger than {limit // 1024} KiB."
    if request.content_length is not None and request.content_length > limit:
        raise HTTPRequestEntityTooLarge(too_large)
    is_yaml = yaml and request.content_type in YAML_TYPES
    if request.content_type != "application/json" and not is_yaml:
        raise HTTPBadRequest(
            "Send a JSON object with Content-Type: application/json"
            + (" (or YAML, as application/yaml)." if yaml else ".")
        )
    if request.is_body_seekable:  # a request run again (pyramid_retry) reads its body from the start
        request.body_file_raw.seek(0)
    body = request.body_file.read(limit + 1)
    if len(body) > limit:
        raise HTTPRequestEntityTooLarge(too_large)
    data = parse_yaml(body) if is_yaml else parse_json(body or b"null")
    if not isinstance(data, dict):
        raise HTTPBadRequest("The body must be a YAML mapping." if is_yaml else "The body must be a JSON object.")
    return data


YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


#: how deep a YAML body may nest (a manifest nests 5 deep): PyYAML's scanner takes time in the square of the
#: depth of ``[`` and ``{`` (a second for 4 KiB of them), so it stops there
MAX_YAML_DEPTH = 32


class TooDeep(yaml_lib.YAMLError):
    """A YAML body nested deeper than MAX_YAML_DEPTH."""


class _PlainYaml(yaml_lib.SafeLoader):
    """YAML without aliases (a few lines of ``*a`` can stand for gigabytes), without implicit dates
    (``2026-01-01`` stays text, as JSON would have it), nested at most MAX_YAML_DEPTH deep."""

    depth = 0

    def fetch_flow_collection_start(self, token_class):
        if self.flow_level >= MAX_YAML_DEPTH:
            raise TooDeep()
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent, index):
        if self.check_event(yaml_lib.AliasEvent):
            raise yaml_lib.composer.ComposerError(
                None, None, "aliases (*name) are not accepted", self.peek_event().start_mark
            )
        if self.depth >= MAX_YAML_DEPTH:
            raise TooDeep()
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_yaml_int(self, node):
        if len(node.value) > 30:  # with sign, base prefix and underscores: see _json_int
            raise NumberTooLarge()
        return _bounded(super().construct_yaml_int(node))

    def construct_yaml_float(self, node):
        return _bounded(super().construct_yaml_float(node))


_PlainYaml.add_constructor("tag:yaml.org,2002:int", _PlainYaml.construct_yaml_int)
_PlainYaml.add_constructor("tag:yaml.org,2002:float", _PlainYaml.construct_yaml_float)


_PlainYaml.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml_lib.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(body):
    """The document in ``body`` (bytes of YAML), or HTTPBadRequest saying what is wrong with it."""
    try:
        data = yaml_lib.load(body, Loader=_PlainYaml)
    except (RecursionError, TooDeep):
        raise HTTPBadRequest(f"The body is nested too deeply (at most {MAX_YAML_DEPTH} levels).") from None
    except yaml_lib.YAMLError as exc:
        raise HTTPBadRequest(f"The body is not valid YAML: {str(exc)[:300]}") from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        raise HTTPBadRequest("The body holds values that are not text, numbers, lists or mappings.") from None
    return data


def next_page(rows, limit):
    """(the first ``limit`` rows, the cursor of the next page or None), from ``limit + 1`` rows read."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)
