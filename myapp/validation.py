"""Checks on what clients send, shared by every area: JSON bodies, fields, ids and cursors.

Whatever a client sends, the answer is a 4xx in the usual shape: 400 for a body that
is not a JSON object (too deep, not UTF-8, lone surrogates), 413 when too large, 422
with one message per bad field.
"""

import json
import re

from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge, HTTPUnprocessableEntity

MAX_JSON_BODY = 64 * 1024
#: ids are positive and fit a signed 64-bit column on every backend
ID_PATTERN = "[0-9]{1,18}"
_ID = re.compile(ID_PATTERN)


class Invalid(HTTPUnprocessableEntity):
    """422 with ``fields``: {name: problem}.  Rendered as JSON under /api."""

    def __init__(self, fields, message="Some fields are not valid."):
        super().__init__(message)
        self.fields = fields


def check(data, schema):
    """Validate ``data`` (a dict) against ``schema`` {name: (required, check)}; unknown names are errors."""
    fields, clean = {}, {}
    for name in data:
        if name not in schema:
            fields[name] = "unknown field"
    for name, (required, checker) in schema.items():
        if name not in data or data[name] is None:
            if required:
                fields[name] = "required"
                continue
            if name not in data:
                continue
        try:
            clean[name] = checker(data[name])
        except ValueError as exc:
            fields[name] = str(exc)
    if fields:
        raise Invalid(fields)
    return clean


def identifier(value):
    """A row id or cursor as sent by a client, or ValueError: digits only, below 2**63."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError("not an id")
    return int(value)


def parse_json(body):
    """The document in ``body`` (bytes), or HTTPBadRequest saying what is wrong with it."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise HTTPBadRequest("The body is nested too deeply.") from None
    except ValueError as exc:  # UnicodeDecodeError included: the body is not UTF-8
        raise HTTPBadRequest(f"The body is not valid JSON: {exc}.") from None
    try:  # "\ud800" is valid JSON, but no text can hold it: it would fail later, in a hash or a database
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise HTTPBadRequest("The body holds a lone surrogate (\\ud800-\\udfff), which is not text.") from None
    return data


def json_object(request):
    """The request's JSON object: 413 when too large, 400 when it is not a JSON object."""
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise HTTPRequestEntityTooLarge(f"The body is larger than {MAX_JSON_BODY // 1024} KiB.")
    if request.content_type != "application/json":
        raise HTTPBadRequest("Send a JSON object with Content-Type: application/json.")
    body = request.body_file.read(MAX_JSON_BODY + 1)
    if len(body) > MAX_JSON_BODY:
        raise HTTPRequestEntityTooLarge(f"The body is larger than {MAX_JSON_BODY // 1024} KiB.")
    data = parse_json(body or b"null")
    if not isinstance(data, dict):
        raise HTTPBadRequest("The body must be a JSON object.")
    return data


def json_body(request, schema):
    """The request's JSON object, checked against ``schema``: 413, 400, or 422 naming each bad field."""
    return check(json_object(request), schema)


def page(params, extra=None, default=50, most=100):
    """(limit, cursor, {name: clean value}) of a list request's query.

    ``extra`` maps the other parameters the list takes to their checks (which raise
    ValueError); a parameter that is neither is an error, and Invalid names them all.
    """
    fields, limit, cursor, values = {}, default, None, {}
    if "limit" in params:
        limit = int(params["limit"]) if params["limit"].isdigit() else 0
        if not 1 <= limit <= most:
            fields["limit"] = f"a whole number from 1 to {most}"
    if params.get("cursor"):
        try:
            cursor = identifier(params["cursor"])
        except ValueError:
            fields["cursor"] = "use the next_cursor of the previous page"
    for name, checker in (extra or {}).items():
        if name in params:
            try:
                values[name] = checker(params[name])
            except ValueError as exc:
                fields[name] = str(exc)
    fields.update({name: "unknown parameter" for name in set(params) - {"limit", "cursor", *(extra or ())}})
    if fields:
        raise Invalid(fields)
    return limit, cursor, values


def next_page(rows, limit):
    """(the first ``limit`` rows, the cursor of the next page or None), from ``limit + 1`` rows read."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)
