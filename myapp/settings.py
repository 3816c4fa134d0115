"""Environment variables mapped onto settings, in one place, so secrets stay out of ini files."""

import os

ENVIRON = {
    "MYAPP_DATABASE_URL": "sqlalchemy.url",
    "MYAPP_AIO_LOOP": "aio.loop",
    "MYAPP_SESSION_SECRET": "session.secret",
}


def from_environ(settings, environ=os.environ):
    """A copy of ``settings`` where every variable set in ``environ`` wins over the ini file."""
    settings = dict(settings)
    for variable, name in ENVIRON.items():
        value = environ.get(variable)
        if value:
            settings[name] = value
    return settings
