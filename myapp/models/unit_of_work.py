"""One unit of work per request: commit on normal return, roll back on an exception, close always.

A request that cannot change anything (GET, HEAD, OPTIONS) gets a session on the loop's
read engine instead: autocommit connections the server keeps read-only, so it has no
transaction to end: it is only closed.
"""

import asyncio
import logging
import random
import time
import types
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pyramid_retry import mark_error_retryable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from ..aio import Runtime, ShuttingDown
from . import conflicts
from .meta import dialect

log = logging.getLogger(__name__)
T = TypeVar("T")
#: what Pyramid gives (it has no types): a request, an event, a registry
Request = Any


#: methods that must not change anything (RFC 9110 "safe"): their sessions read only
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def get_dbsession(request: Request) -> AsyncSession:
    state = request.loop_state
    session: AsyncSession = (state.db_read_sessions if request.method in SAFE_METHODS else state.db_sessions)()
    # A safety net for a session first used after the tween has finished (an
    # exception view, a response callback): it is rolled back and closed.
    request.add_finished_callback(_close_leftover)
    return session


async def _finish(session: AsyncSession, commit: bool) -> None:
    """Commit (when ``commit``) and close; closing rolls back whatever is not committed."""
    try:
        if commit:
            await session.commit()
    finally:
        await _close(session)


async def _close(session: AsyncSession) -> None:
    """Close in a task of its own: a deadline that cancels the caller does not cut the close short.

    Cut short, the connection would be neither back in its pool nor closed, and left to the
    garbage collector; carried on, it goes back to the pool once the server answers.
    """
    task = asyncio.get_running_loop().create_task(session.close())
    _closing.add(task)
    task.add_done_callback(_closed)
    await asyncio.shield(task)


def _commit(request: Request) -> None:
    """Commit within the request's deadline (past it: a 504, and nothing is known to be written).

    A reading session has nothing to commit: it is closed.
    """
    session = request.__dict__.pop("dbsession", None)
    if session is not None:
        request.run_async(_finish(session, commit=request.method not in SAFE_METHODS))


def _close_leftover(request: Request) -> None:
    """Roll back and close, whatever state the request is in.

    It runs even past the request's deadline, for at most ``aio.cancel_grace``: the
    connection goes back to its pool, or, when the server does not answer, is abandoned
    to the loop, which finishes the rollback later.
    """
    session = request.__dict__.pop("dbsession", None)
    if session is None:
        return
    abandoned = request.__dict__.get("aio_abandoned")
    if abandoned is not None and not abandoned.done():
        # a coroutine of this request still uses the session on its loop: close it once that is done
        abandoned.add_done_callback(lambda task: _close_later(task.get_loop(), session))
        return
    runtime = request.registry.aio_runtime
    try:
        runtime.run(_finish(session, commit=False), runtime.cancel_grace)
    except ShuttingDown:
        log.debug("the server is stopping: the session of %s is left to the loop's close", request.method)
    except Exception as exc:
        log.warning("rolling back the database session of %s failed: %s: %s", request.method, type(exc).__name__, exc)


#: closings running on a loop, held here: the loop itself keeps only weak references to its tasks
_closing: set["asyncio.Task[None]"] = set()


def _close_later(loop: asyncio.AbstractEventLoop, session: AsyncSession) -> None:
    task = loop.create_task(_finish(session, commit=False))
    _closing.add(task)
    task.add_done_callback(_closed)


def _closed(task: "asyncio.Task[None]") -> None:
    _closing.discard(task)
    exc = None if task.cancelled() else task.exception()
    if exc is not None:
        log.warning("rolling back an abandoned request's database session failed: %s: %s", type(exc).__name__, exc)


async def in_session(
    state: types.SimpleNamespace, fn: Callable[[AsyncSession], Awaitable[T]], deadline: float | None = None
) -> T:
    """Await ``fn(session)`` as one unit of work on the loop whose state this is (background tasks), within
    ``deadline`` seconds when given; its result.  A unit of work that fails is rolled back; one cut short (the
    deadline, a cancellation) drops its connection to a database server instead: a rollback would wait on a
    server that may not answer (a frozen one answers nothing), holding the connection, and the caller, as
    long."""
    session: AsyncSession = state.db_sessions()
    try:
        async with asyncio.timeout(deadline):
            result = await fn(session)
            await session.commit()
    except BaseException as exc:
        if isinstance(exc, (asyncio.CancelledError, TimeoutError)) and dialect(session) != "sqlite":
            await asyncio.shield(session.invalidate())  # a local SQLite file answers: it is rolled back below
        else:
            await _close(session)
        raise
    await _close(session)
    return result


def run_in_session(registry: Any, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``fn(session)`` as one unit of work outside a request (scripts, tests), on this thread's loop."""
    runtime: Runtime = registry.aio_runtime
    return runtime.run(in_session(runtime.worker_loop().state, fn))


def attempts(request: Request) -> int | None:
    """pyramid_retry's hook: a request that cannot change anything has no transaction to lose, and its body
    need not be kept for another attempt (None: ``retry.attempts``)."""
    return 1 if request.method in SAFE_METHODS else None


def back_off(event: Any) -> None:
    """Before a request runs again: a moment, as conflicts.pause (this thread waits, not a loop)."""
    time.sleep(random.uniform(0.01, 0.05) * (event.environ.get("retry.attempt", 0) + 1))  # 0: the first failed


def retry_if_lost(exc: BaseException) -> None:
    """A transaction that lost to another (conflicts.py) is nothing the client did: pyramid_retry runs the
    request again from the start, on a fresh session (the exception views leave it to do so)."""
    if isinstance(exc, DBAPIError) and conflicts.lost(exc):
        mark_error_retryable(exc)


def unit_of_work_tween_factory(handler: Callable[[Request], Any], registry: Any) -> Callable[[Request], Any]:
    """Sits under the exception view tween: a failed commit is rendered by the exception views."""

    def unit_of_work_tween(request: Request) -> Any:
        try:
            response = handler(request)
        except BaseException as exc:
            _close_leftover(request)
            retry_if_lost(exc)
            raise
        try:
            _commit(request)  # a failed commit closes the session itself (_finish)
        except Exception as exc:
            retry_if_lost(exc)
            raise
        return response

    return unit_of_work_tween
