"""Environment variables mapped onto settings, in one place, so secrets stay out of ini files."""

import os
import sys

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

    def __init__(self, message):
        super().__init__(f"myapp: {message}")


def ini_file(settings):
    """The ini file the app was started with, to name it in messages (main() records it)."""
    return settings.get("myapp.ini_file") or (sys.argv[1] if len(sys.argv) > 1 else "production.ini")


def whole_number(settings, name, default, least=0):
    """The setting ``name`` as an int of at least ``least``; NotConfigured says what is wrong."""
    raw = settings.get(name, str(default))
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise NotConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < least:
        raise NotConfigured(f"{name} must be at least {least}")
    return value
