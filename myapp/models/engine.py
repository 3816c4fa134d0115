"""One AsyncEngine per event loop, opened and disposed through a myapp.aio cleanup context.

Connections belong to the loop that opened them, so each loop has its own pool:
waitress threads x sqlalchemy.pool_size (+ the service loop's) is the most
connections a process holds.
"""

from pyramid.settings import asbool
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


def engine_options(url, settings):
    options = {"echo": asbool(settings.get("sqlalchemy.echo", "false"))}
    if make_url(url).get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": float(settings.get("sqlalchemy.sqlite_busy_timeout", "15"))}
        return options
    options.update(
        pool_size=int(settings.get("sqlalchemy.pool_size", "5")),
        # Overflow connections are closed on return: with several pools per process
        # that is a reconnect storm, so the pool is a fixed size.
        max_overflow=0,
        pool_timeout=float(settings.get("sqlalchemy.pool_timeout", "10")),
        pool_recycle=int(settings.get("sqlalchemy.pool_recycle", "3600")),
    )
    return options


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer of another loop
    cursor.close()


def create_engine(url, options):
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def open_engine(url, options):
    async def database(state):
        engine = create_engine(url, options)
        state.db_engine = engine
        state.db_sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            yield
        finally:
            await engine.dispose()

    return database
