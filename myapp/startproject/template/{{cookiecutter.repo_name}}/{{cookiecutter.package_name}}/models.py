"""The database: SQLAlchemy 2 asyncio, one engine per event loop, one unit of work per request.

aiosqlite in development, aiomysql (``mysql+aiomysql://``) in production; the schema is
made by Alembic (``alembic -c development.ini upgrade head``).
"""

import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime)


def open_database(url, pool_size):
    """A cleanup context: each event loop gets an engine of its own, disposed of on that loop."""
    options = {} if url.startswith("sqlite") else {
        "pool_size": pool_size, "max_overflow": 0, "pool_recycle": 3600, "pool_pre_ping": True}

    async def database(state):
        engine = create_async_engine(url, **options)
        state.db_sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            yield
        finally:
            await engine.dispose()

    return database


def dbsession(request):
    """``request.dbsession``: a session on this thread's loop, committed by the tween below."""
    return request.loop_state.db_sessions()


async def finish(session, commit):
    try:
        if commit:
            await session.commit()
    finally:
        await session.close()


def unit_of_work_tween_factory(handler, registry):
    """Commit when the view returned, roll back when it raised; close the session always."""

    def unit_of_work_tween(request):
        try:
            response = handler(request)
        except BaseException:
            if "dbsession" in request.__dict__:
                request.run_async(finish(request.dbsession, commit=False))
            raise
        if "dbsession" in request.__dict__:
            request.run_async(finish(request.dbsession, commit=True))
        return response

    return unit_of_work_tween


def includeme(config):
    settings = config.get_settings()
    config.add_cleanup_ctx(open_database(settings["sqlalchemy.url"], int(settings.get("database.pool_size", 5))))
    config.add_request_method(dbsession, reify=True)
    config.add_tween("{{ cookiecutter.package_name }}.models.unit_of_work_tween_factory")
