"""Alembic, driven from the application's settings (the [alembic] section lives in the ini files)."""

import asyncio
import functools
import logging
from collections.abc import Mapping
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ..settings import NotConfigured
from .engine import create_engine

log = logging.getLogger(__name__)

SCRIPT_LOCATION = "myapp:alembic"


def alembic_config(settings: Mapping[str, Any], ini_file: str | None = None) -> Config:
    config = Config(ini_file) if ini_file else Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Mapping[str, Any], revision: str = "head", ini_file: str | None = None) -> None:
    """Bring the database to ``revision``.  Runs its own short-lived event loop: call it at startup only."""
    command.upgrade(alembic_config(settings, ini_file), revision)


@functools.cache
def head_revision() -> str | None:
    """The newest migration shipped with the code (read once: it cannot change while running)."""
    return ScriptDirectory.from_config(alembic_config({})).get_current_head()


async def current_revision(url: str, timeout: float = 5.0) -> str | None:
    """The database's revision (None when it has no schema); raises when it cannot be reached."""
    engine = create_engine(url, {})
    try:
        async with asyncio.timeout(timeout), engine.connect() as connection:
            try:
                return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            except DBAPIError as exc:
                if "alembic_version" in str(exc.orig):  # no such table: nothing was ever migrated
                    return None
                raise
    finally:
        await engine.dispose()


def check_revision(url: str, ini_file: str) -> None:
    """Refuse to start on a database whose schema is not this code's; start anyway when it is unreachable.

    Runs its own short-lived event loop: call it at startup only.
    """
    try:
        revision = asyncio.run(current_revision(url))
    except Exception as exc:
        log.warning(
            "the database does not answer at start (%s: %s); requests get 503 until it does",
            type(exc).__name__,
            str(exc).splitlines()[0][:200] if str(exc) else "",
        )
        return
    if revision != head_revision():
        raise NotConfigured(
            f"the database schema is at revision {revision or 'none'}, this code needs {head_revision()}: "
            f"run  initialize_myapp_db {ini_file}"
        )
