"""Alembic, driven from the application's settings (the [alembic] section lives in the ini files)."""

import functools

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

SCRIPT_LOCATION = "myapp:alembic"


def alembic_config(settings, ini_file=None):
    config = Config(ini_file) if ini_file else Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["settings"] = settings
    return config


def upgrade(settings, revision="head", ini_file=None):
    """Bring the database to ``revision``.  Runs its own short-lived event loop: call it at startup only."""
    command.upgrade(alembic_config(settings, ini_file), revision)


@functools.cache
def head_revision():
    """The newest migration shipped with the code (read once: it cannot change while running)."""
    return ScriptDirectory.from_config(alembic_config({})).get_current_head()
