"""Settings: environment variables mapped onto them in one place (so secrets stay out of ini files), and
each area's settings as a pydantic model read once from the ini file.

An area declares its settings as a ``Section``, each field's alias its name in the ini file::

    class MonitorSettings(Section):
        min_interval: int = Field(30, alias="monitors.min_interval", ge=1)

and reads it with ``find(config.registry, MonitorSettings)`` (myapp.services): once per application, whichever area
asks first, with a bad value stopping pserve with a sentence that names the setting (NotConfigured).
A setting under one of myapp's prefixes that no area reads (a misspelling, or a name from an older
release) stops pserve too, naming it (``check_names``): left alone, it would leave the default in force.
"""

import difflib
import os
import sys
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

ENVIRON = {
    "MYAPP_DATABASE_URL": "sqlalchemy.url",
    "MYAPP_AIO_LOOP": "aio.loop",
    "MYAPP_SESSION_SECRET": "session.secret",
    "MYAPP_PUBLIC_URL": "myapp.public_url",
    "MYAPP_METRICS_TOKEN": "metrics.token",
}


def from_environ(settings, environ=os.environ):
    """A copy of ``settings`` where every variable set in ``environ`` wins over the ini file."""
    settings = dict(settings)
    for variable, name in ENVIRON.items():
        value = environ.get(variable)
        if value:
            settings[name] = value
    return settings


class NotConfigured(SystemExit):
    """What the operator must set or run is missing: pserve and the scripts print this sentence and exit 1."""

    def __init__(self, message: str) -> None:
        super().__init__(f"myapp: {message}")


def ini_file(settings: Mapping[str, Any]) -> str:
    """The ini file the app was started with, to name it in messages (main() records it)."""
    return settings.get("myapp.ini_file") or (sys.argv[1] if len(sys.argv) > 1 else "production.ini")


def _blank_is_none(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _words(value):
    """A list setting: words separated by spaces, commas or lines."""
    return value.replace(",", " ").split() if isinstance(value, str) else value


#: a setting that may be left empty (``smtp.username =``): None then
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_none)]
#: a setting that lists words: ``metrics.allow = 127.0.0.1 10.0.0.0/8``
Words = Annotated[tuple[str, ...], BeforeValidator(_words)]


class Section(BaseModel):
    """The settings of one area: each field's alias is its name in the ini file; values arrive as text and
    are converted (``"30"`` to 30, ``"true"`` to True)."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


S = TypeVar("S", bound=Section)


def read(model: type[S], settings: Mapping[str, Any]) -> S:
    """``model`` (a Section) from the ini's ``settings``; NotConfigured names the first bad setting."""
    names = {field.alias or name for name, field in model.model_fields.items()}
    try:
        return model.model_validate({name: settings[name] for name in names if name in settings})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or model.__name__
        given = error.get("input")
        shown = f", not {given!r}" if isinstance(given, str) else ""
        raise NotConfigured(f"{name}: {error['msg'].removeprefix('Value error, ')}{shown}") from None


#: settings that moved to the area they belong to: an ini file that still uses the old name is told the new one
RENAMED = {
    "monitors.private_targets": "outbound.private_targets",
    "monitors.name_servers": "outbound.name_servers",
    "monitors.lookup_seconds": "outbound.lookup_seconds",
    "monitors.lookups_per_owner": "outbound.lookups_per_owner",
    "monitors.allowed_networks": "outbound.allowed_networks",
    "monitors.ca_file": "outbound.ca_file",
    "monitors.status_cache_seconds": "status_pages.cache_seconds",
    "monitors.max_status_pages_per_user": "status_pages.max_per_user",
    "monitors.max_announcements_per_user": "status_pages.max_announcements_per_user",
    "monitors.max_windows_per_user": "maintenance.max_windows_per_user",
}


def known_names():
    """The ini names of every Section's fields (every area's module is imported by then)."""
    names, todo = set(), [Section]
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        names.update(field.alias for field in model.model_fields.values() if field.alias)
    return names


def check_names(settings, known):
    """NotConfigured for the first setting under one of myapp's prefixes (those of ``known``) that is not in
    ``known``, with the name it was probably meant to be."""
    prefixes = {name.partition(".")[0] for name in known}
    for name in sorted(settings):
        if name in known or name.partition(".")[0] not in prefixes:
            continue
        if name in RENAMED:
            hint = f"; it is {RENAMED[name]} now"
        else:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
        raise NotConfigured(f"{name} is not a setting myapp knows{hint} (in {ini_file(settings)})")


class Site(Section):
    """What more than one area reads."""

    public_url: OptionalText = Field(
        None, alias="myapp.public_url", description="the address people use; links in messages are built from it"
    )
    session_secure: bool = Field(False, alias="session.secure", description="cookies over HTTPS only, and HSTS")

    def link(self, path):
        """An absolute link to ``path`` under the public URL, or None without one."""
        return f"{self.public_url.rstrip('/')}{path}" if self.public_url else None


__all__ = [
    "Field",
    "NotConfigured",
    "OptionalText",
    "Section",
    "Site",
    "Words",
    "check_names",
    "from_environ",
    "ini_file",
    "known_names",
    "read",
]
