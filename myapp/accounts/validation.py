"""The fields of accounts, shared by the pages and the JSON API: each returns the clean value or raises ValueError."""

from email_validator import EmailNotValidError, validate_email

from ..models.account import SCOPES

PASSWORD_MIN, PASSWORD_MAX = 10, 256
NAME_MAX = 80


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
