"""What accounts take and give, declared once with pydantic: the pages, the JSON API and its document.

Forms and JSON bodies are checked by the same models, so a sign-up refused on the page
is refused in the API with the same words.
"""

import datetime
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..models.account import SCOPES
from ..validation import Invalid, PageQuery, Reply, fields_of

PASSWORD_MIN, PASSWORD_MAX = 10, 256
NAME_MAX = 80


def _email(value):
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def _one_line(value):
    return " ".join(value.split())


Email = Annotated[
    str,
    StringConstraints(min_length=1, max_length=320),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]
#: a password to set: the policy's length
NewPassword = Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
#: a password to check, not to set: the policy may have changed since it was set
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
DisplayName = Annotated[str, AfterValidator(_one_line), StringConstraints(min_length=1, max_length=NAME_MAX)]
KeyName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=NAME_MAX)]
Scope = Literal[SCOPES]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TokenRequest(Strict):
    email: Email
    password: AnyPassword
    scope: Scope = Field(description="read: GET only; write: every method")
    name: KeyName = ""


class SignUp(Strict):
    email: Email
    display_name: DisplayName
    password: NewPassword


class SignIn(Strict):
    email: Email
    password: AnyPassword


class Profile(Strict):
    display_name: DisplayName


class PasswordChange(Strict):
    current_password: AnyPassword
    new_password: NewPassword
    revoke_keys: str | None = None


class NewKey(Strict):
    name: KeyName = ""
    scope: Scope


class UserQuery(PageQuery):
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320)] | None = None


def form(data, model):
    """(``model`` of a posted form, {}) or (None, {field: problem}): empty fields count as missing."""
    try:
        return model.model_validate({name: value for name, value in data.items() if value not in (None, "")}), {}
    except ValidationError as exc:
        return None, fields_of(exc)


def check(model, **values):
    """``model`` of ``values`` or Invalid: for callers outside a request (scripts)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise Invalid(fields_of(exc)) from None


# what the API answers


class User(Reply):
    id: int
    email: str
    display_name: str
    role: Literal["user", "admin"]
    created_at: datetime.datetime
    updated_at: datetime.datetime


class UserPage(Reply):
    users: list[User]
    next_cursor: str | None = Field(description="the cursor of the next page; null on the last")


class ApiKey(Reply):
    id: int
    name: str
    scope: Scope
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    created_at: datetime.datetime


class NewApiKey(ApiKey):
    token: str = Field(description="the key itself, shown this once: send it as Authorization: Bearer <token>")


class KeyList(Reply):
    tokens: list[ApiKey]
