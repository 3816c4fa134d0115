"""Alembic environment: async engines (aiosqlite, aiomysql), settings from the Pyramid app."""

import asyncio

from alembic import context
from pyramid.paster import get_appsettings, setup_logging

from myapp.models.engine import create_engine
from myapp.settings import from_environ
from myapp.tables import metadata

config = context.config
settings = config.attributes.get("settings")
if settings is None:  # the alembic command line: alembic -c development.ini upgrade head
    setup_logging(config.config_file_name)
    settings = from_environ(get_appsettings(config.config_file_name))

target_metadata = metadata


def run_migrations(connection):
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration copies a table, drops it and renames the copy: with foreign keys on, the drop
        # would delete every row that refers to it (ON DELETE CASCADE).  Off for the migration (outside
        # a transaction, where SQLite heeds it), and checked when it is done.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows that refer to nothing: {broken[:5]}")


async def run_async_migrations():
    engine = create_engine(settings["sqlalchemy.url"], {})
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=settings["sqlalchemy.url"], target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async_migrations())
