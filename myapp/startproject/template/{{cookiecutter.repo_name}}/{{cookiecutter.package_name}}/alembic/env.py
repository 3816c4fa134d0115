"""Alembic with the application's async engine: the URL comes from the ini's [app:main]
(``alembic -c development.ini upgrade head``) or the environment variable that main() reads."""

import asyncio
import os

from alembic import context
from pyramid.paster import get_appsettings
from sqlalchemy.ext.asyncio import create_async_engine

from {{ cookiecutter.package_name }} import DATABASE_URL_VARIABLE
from {{ cookiecutter.package_name }}.models import Base

config = context.config
url = (config.attributes.get("url") or os.environ.get(DATABASE_URL_VARIABLE)
       or get_appsettings(config.config_file_name)["sqlalchemy.url"])


def migrate(connection):
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run():
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run())
