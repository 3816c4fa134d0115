"""Two AsyncEngines per event loop, opened and disposed through a myapp.aio cleanup context.

Connections belong to the loop that opened them, so each loop has its own pools:
one for units of work that may write (transactions), and one for requests that only
read (GET, HEAD, OPTIONS).  A reading connection is in autocommit mode and read-only on
the server: a read needs no COMMIT or ROLLBACK round trip, and a write from a GET view
fails loudly instead of being committed.  Pools open connections as they are needed:
(waitress threads + the service loop) x 2 x sqlalchemy.pool_size is the most a process
can hold; a thread that serves one request at a time uses one of each.

A server that stops answering must not hold a request past its deadline, nor a
restart cost a request its answer: connecting is bounded (``connect_timeout``), every
statement is bounded on the server (``statement_timeout``), and a connection that sat
idle in the pool for more than ``ping_idle_seconds`` is pinged before use, and
replaced if the server went away meanwhile.
"""

import time
import types
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from pydantic import model_validator
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from ..logs import fewer_tracebacks
from ..settings import Field, OptionalText, Section, read


class DatabaseSettings(Section):
    url: OptionalText = Field(None, alias="sqlalchemy.url")
    create_schema: bool = Field(False, alias="myapp.create_schema", description="create or upgrade it at start")
    echo: bool = Field(False, alias="sqlalchemy.echo")
    sqlite_busy_timeout: float = Field(15, alias="sqlalchemy.sqlite_busy_timeout", ge=0)
    pool_size: int = Field(5, alias="sqlalchemy.pool_size", ge=1)
    pool_timeout: float = Field(10, alias="sqlalchemy.pool_timeout", ge=0)
    pool_recycle: int = Field(3600, alias="sqlalchemy.pool_recycle")
    connect_timeout: float = Field(5, alias="sqlalchemy.connect_timeout", gt=0)
    request_timeout: float = Field(30, alias="aio.timeout", ge=0)
    statement_timeout: float | None = Field(
        None, alias="sqlalchemy.statement_timeout", ge=0, description="default: aio.timeout"
    )
    ping_idle_seconds: float = Field(0.05, alias="sqlalchemy.ping_idle_seconds", ge=0)

    @model_validator(mode="after")
    def _statement_timeout(self) -> "DatabaseSettings":
        if self.statement_timeout is None:
            object.__setattr__(self, "statement_timeout", self.request_timeout)
        return self


def engine_options(url: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """create_engine's options from the ini's settings, ours (``statement_timeout``, ``ping_idle_seconds``)
    included."""
    db = read(DatabaseSettings, settings)
    options: dict[str, Any] = {"echo": db.echo}
    if make_url(url).get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": db.sqlite_busy_timeout}
        return options
    options.update(
        pool_size=db.pool_size,
        # Overflow connections are closed on return: with several pools per process
        # that is a reconnect storm, so the pool is a fixed size.
        max_overflow=0,
        pool_timeout=db.pool_timeout,
        pool_recycle=db.pool_recycle,
        connect_args={"connect_timeout": db.connect_timeout},
        statement_timeout=db.statement_timeout,
        ping_idle_seconds=db.ping_idle_seconds,
    )
    return options


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer of another loop
    cursor.close()


def _mysql_session(statement_timeout: float | None) -> Callable[[Any, Any], None]:
    """On every new MySQL connection: the server ends a statement that runs longer than
    ``statement_timeout`` seconds (when given), and GROUP_CONCAT may return up to 1 MiB
    (MySQL's default of 1,024 bytes cuts a status page's 90 days short, silently)."""

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION group_concat_max_len = 1048576")
        if statement_timeout:
            cursor.execute("SELECT VERSION()")
            if "mariadb" in cursor.fetchone()[0].lower():
                cursor.execute(f"SET SESSION max_statement_time = {statement_timeout:.3f}")
            else:  # MySQL bounds SELECT statements only
                cursor.execute(f"SET SESSION max_execution_time = {int(statement_timeout * 1000)}")
        cursor.close()

    return on_connect


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a connection that sat in the pool longer than ``idle_seconds``; replace it if the server is gone.

    A busy connection is not pinged (that would cost a round trip per request); a
    restart while idle, the usual maintenance, then costs no request its answer.
    """

    def checkin(dbapi_connection: Any, connection_record: Any) -> None:
        connection_record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
        since = connection_record.info.pop("idle_since", None)
        if since is not None and time.monotonic() - since > idle_seconds:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:  # the pool then opens a new connection in its place
                raise DisconnectionError(f"the connection was lost while idle: {exc}") from exc

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


#: MySQL/MariaDB errors after which a connection is not to be used again: a Galera node not ready
#: ("WSREP has not yet prepared node for application use"), a server shutting down, a connection killed
UNUSABLE = frozenset((1047, 1053, 1927, 4031))


def _drop_unusable(context: Any) -> None:
    """A connection that answered UNUSABLE, or whose rollback or commit failed (its state is unknown), is
    dropped, as a lost one is: SQLAlchemy would otherwise keep it checked out of its pool when a session's
    close fails, until the garbage collector found it."""
    orig = context.original_exception
    code = orig.args[0] if getattr(orig, "args", None) and isinstance(orig.args[0], int) else None
    if code in UNUSABLE or context.statement is None and isinstance(context.sqlalchemy_exception, DBAPIError):
        context.is_disconnect = True


def _reset_only_when_needed(engine: AsyncEngine) -> None:
    """A connection goes back to its pool without the ROLLBACK that SQLAlchemy's pool sends on every
    return, when its transaction already ended (committed or rolled back): a round trip of four on a
    read request (the identity, the read, COMMIT, ROLLBACK).  Any other return is rolled back, as the
    pool would (SQLAlchemy's "custom reset" recipe: pool_reset_on_return=None and a reset event)."""

    def mark(connection: Any, ended: bool) -> None:
        try:
            connection.info["transaction_ended"] = ended
        except SQLAlchemyError:  # an invalidated connection: the pool discards it, there is nothing to reset
            pass

    def reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        ended = connection_record.info.pop("transaction_ended", False)
        if reset_state.transaction_was_reset or ended or not reset_state.asyncio_safe:
            return  # (not asyncio-safe: a connection collected without a close; the pool discards it)
        dbapi_connection.rollback()

    for name, ended in (("commit", True), ("rollback", True), ("begin", False)):
        event.listen(engine.sync_engine, name, lambda connection, ended=ended: mark(connection, ended))
    event.listen(engine.sync_engine.pool, "reset", reset)


def _read_only(engine: AsyncEngine) -> None:
    """Connections in autocommit mode that the server refuses to write with.

    No transaction is ever open on them, so COMMIT and ROLLBACK would change nothing:
    they are not sent (SQLAlchemy sends them to the driver even in autocommit mode).
    """
    dialect = engine.sync_engine.dialect
    dialect.do_commit = dialect.do_rollback = lambda dbapi_connection: None  # type: ignore[method-assign]
    if dialect.name == "mysql":
        statement = "SET SESSION TRANSACTION READ ONLY"
    elif dialect.name == "sqlite":
        statement = "PRAGMA query_only = ON"
    else:
        return

    def refuse_writes(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()

    event.listen(engine.sync_engine, "connect", refuse_writes)


def create_engine(url: str, options: Mapping[str, Any], read_only: bool = False) -> AsyncEngine:
    """An engine with our connection settings; ``read_only``: autocommit connections that may not write."""
    options = dict(options)
    statement_timeout = options.pop("statement_timeout", None)
    ping_idle_seconds = options.pop("ping_idle_seconds", None)
    if read_only:
        options["isolation_level"] = "AUTOCOMMIT"
    engine = create_async_engine(url, pool_reset_on_return=None, **options)
    # the pool logs a traceback for every connection it fails to reset: one a minute is enough
    fewer_tracebacks(f"sqlalchemy.pool.impl.{type(engine.sync_engine.pool).__name__}")
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if engine.dialect.name == "mysql":
        event.listen(engine.sync_engine, "connect", _mysql_session(statement_timeout))
        event.listen(engine.sync_engine, "handle_error", _drop_unusable)
    if read_only:
        _read_only(engine)
    else:
        _reset_only_when_needed(engine)
    if ping_idle_seconds is not None:
        _ping_when_idle(engine, ping_idle_seconds)
    return engine


def engines(state: types.SimpleNamespace) -> list[tuple[str, AsyncEngine]]:
    """(name, engine) of a loop's engines: "write" (units of work) and "read" (safe requests)."""
    return [
        (name, engine)
        for name, engine in (
            ("write", getattr(state, "db_engine", None)),
            ("read", getattr(state, "db_read_engine", None)),
        )
        if engine is not None
    ]


def open_engine(url: str, options: Mapping[str, Any]) -> Callable[[types.SimpleNamespace], AsyncIterator[None]]:
    async def database(state: types.SimpleNamespace) -> AsyncIterator[None]:
        state.db_engine = create_engine(url, options)
        state.db_read_engine = create_engine(url, options, read_only=True)
        state.db_sessions = async_sessionmaker(state.db_engine, expire_on_commit=False)
        state.db_read_sessions = async_sessionmaker(state.db_read_engine, expire_on_commit=False)
        try:
            yield
        finally:
            for _, engine in engines(state):
                await engine.dispose()

    return database
