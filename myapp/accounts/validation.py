"""Input checks shared by the pages and the JSON API.  Failures carry per-field messages."""

import json

from email_validator import EmailNotValidError, validate_email
from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge, HTTPUnprocessableEntity

from ..models.account import SCOPES

PASSWORD_MIN, PASSWORD_MAX = 10, 256
NAME_MAX = 80
MAX_JSON_BODY = 64 * 1024


class Invalid(HTTPUnprocessableEntity):
    """422 with ``fields``: {name: problem}.  Rendered as JSON under /api."""

    def __init__(self, fields, message="Some fields are not valid."):
        super().__init__(message)
        self.fields = fields


def email(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("enter an email address")
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return result.normalized.lower()


def password(value):
    if not isinstance(value, str):
        raise ValueError("enter a password")
    if len(value) < PASSWORD_MIN:
        raise ValueError(f"use at least {PASSWORD_MIN} characters")
    if len(value) > PASSWORD_MAX:
        raise ValueError(f"use at most {PASSWORD_MAX} characters")
    return value


def any_password(value):
    """A password to check, not to set: only its type is checked (the policy may have changed)."""
    if not isinstance(value, str) or not value:
        raise ValueError("enter your password")
    return value


def display_name(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("enter a name")
    value = " ".join(value.split())
    if len(value) > NAME_MAX:
        raise ValueError(f"use at most {NAME_MAX} characters")
    return value


def key_name(value):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be text")
    value = value.strip()
    if len(value) > NAME_MAX:
        raise ValueError(f"use at most {NAME_MAX} characters")
    return value


def scope(value):
    if value not in SCOPES:
        raise ValueError("must be 'read' or 'write'")
    return value


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


def json_body(request, schema):
    """The request's JSON object, checked: 413 when too large, 400 when not JSON, 422 when invalid."""
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise HTTPRequestEntityTooLarge(f"The body is larger than {MAX_JSON_BODY // 1024} KiB.")
    if request.content_type != "application/json":
        raise HTTPBadRequest("Send a JSON object with Content-Type: application/json.")
    body = request.body_file.read(MAX_JSON_BODY + 1)
    if len(body) > MAX_JSON_BODY:
        raise HTTPRequestEntityTooLarge(f"The body is larger than {MAX_JSON_BODY // 1024} KiB.")
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise HTTPBadRequest(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise HTTPBadRequest("The body must be a JSON object.")
    return check(data, schema)
