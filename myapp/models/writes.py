"""Writing a batch: the one policy of every background writer (pings, check results, deliveries' attempts).

A batch is written in one transaction, bounded by a deadline.  When that fails, what happens depends on why:

- **it lost to another transaction** (a deadlock, a Galera certification failure, a lock or statement that
  waited too long: ``TRANSIENT``): after a pause it is written again, in halves when it holds more than one
  item (a row that another writer keeps changing then holds back its own items, not the batch's), up to
  ``ATTEMPTS`` times;
- **a row cannot be written** (the database refuses it: a constraint, a value it cannot store; or any
  other error while the database still answers, ours included): the batch is written in halves until the
  row is found, which is *refused*, and the others are written;
- **the database is away** (the connection is lost, no connection comes from the pool, the deadline
  passed): nothing more is tried, and the caller keeps what is *unwritten* for later, or says so.

So one row never holds back the others, and a batch is never retried forever.  A transaction cut short by
its deadline (or a cancellation) drops its connection instead of rolling back over it: a frozen server
would hold the rollback, and the connection, as long as it stays frozen.
"""

import asyncio
import dataclasses
import logging
import types
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from . import conflicts
from .unit_of_work import in_session

log = logging.getLogger(__name__)
T = TypeVar("T")
State = types.SimpleNamespace  # a loop's (myapp.aio.loop_state)
#: a writer: ``fn(session, items)``, its answers (one an item) or None
Writer = Callable[[AsyncSession, list[Any]], Awaitable[Sequence[Any] | None]]

ATTEMPTS = 5  # times an item is written after losing to another transaction, at most
DEADLINE = 10.0  # seconds a background transaction may take; past it the database counts as away
PROBE_SECONDS = 2.0

#: MySQL/MariaDB errors of a transaction that may simply be tried again: a deadlock or Galera conflict, a
#: lock waited for too long, a statement that ran past max_statement_time (MariaDB) or max_execution_time
TRANSIENT = frozenset((conflicts.LOST, 1205, 1969, 3024))
#: the driver's own errors for a connection that is gone (can't connect, server gone away, lost, ...)
GONE = frozenset((2002, 2003, 2006, 2013, 2055))

#: what a background task's unit of work may raise because of the database (OSError: TimeoutError, sockets)
FAILURES = (sa_exc.SQLAlchemyError, OSError)
LOST, REFUSED, AWAY = "lost", "refused", "away"
_away: set[str] = set()  # the writers (by ``what``) that found the database away last time: told again when it is back


@dataclasses.dataclass
class Written:
    """What became of a batch: ``written`` [(item, the writer's answer)], ``refused`` [(item, why, in the
    database's words)], ``unwritten`` (the database is away, or the items kept losing: ``error`` says why)."""

    written: list[tuple[Any, Any]] = dataclasses.field(default_factory=list)
    refused: list[tuple[Any, str]] = dataclasses.field(default_factory=list)
    unwritten: list[Any] = dataclasses.field(default_factory=list)
    error: BaseException | None = None
    conflicts: int = 0  # transactions that lost to another (each was tried again)


def _code(exc: BaseException) -> int | None:
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def kind_of(exc: BaseException) -> str | None:
    """LOST, REFUSED or AWAY when ``exc`` says so by itself; None when only a probe can tell."""
    if isinstance(exc, (TimeoutError, sa_exc.TimeoutError, ConnectionError)):  # ours, the pool's, the socket's
        return AWAY
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    code = _code(exc)
    if code in TRANSIENT or "database is locked" in str(exc.orig):  # SQLite: another writer held it too long
        return LOST
    if exc.connection_invalidated or code in GONE or isinstance(exc, sa_exc.InterfaceError):
        return AWAY
    if isinstance(exc, (sa_exc.IntegrityError, sa_exc.DataError)):
        return REFUSED
    return None


async def answers(state: State) -> bool:
    """Whether the database answers a trivial query now."""
    try:
        await in_session(state, lambda session: session.execute(text("SELECT 1")), PROBE_SECONDS)
    except FAILURES:
        return False
    return True


async def write(
    state: State,
    items: Sequence[Any],
    fn: Writer,
    what: str,
    deadline: float = DEADLINE,
) -> Written:
    """Write ``items`` with ``fn(session, items)`` (its answers, one an item, or None) by the policy above.
    ``what``: the writer, in the log (the same words each time: the database's outage is told once)."""
    done = Written()
    await _write(state, list(items), fn, what, deadline, done, 1)
    return done


async def _write(
    state: State, items: list[Any], fn: Writer, what: str, deadline: float, done: Written, attempt: int
) -> None:
    if not items:
        return
    if done.error is not None and kind_of(done.error) is AWAY:  # no use trying the rest now
        done.unwritten += items
        return
    try:
        said = await in_session(state, lambda session: fn(session, items), deadline)
    except Exception as exc:
        error, kind = exc, kind_of(exc)
    else:
        done.written += zip(items, said if said is not None else [None] * len(items), strict=True)
        if what in _away:
            _away.discard(what)
            log.warning("%s: the database answers again", what)
        return
    if kind is None:  # the database's say (it answers: this batch's fault), or our code's on one of its rows
        kind = REFUSED if not isinstance(error, sa_exc.SQLAlchemyError) or await answers(state) else AWAY
    if kind is AWAY:
        if what not in _away:  # once an outage
            _away.add(what)
            log.warning("%s: the database is away (%s); %d not written", what, describe(error), len(items))
        done.unwritten += items
        done.error = error
        return
    if kind is LOST:
        done.conflicts += 1
        log.debug("%s: %d lost to another transaction (attempt %d): %s", what, len(items), attempt, describe(error))
        if attempt >= ATTEMPTS:
            done.unwritten += items
            done.error = error
            return
        await conflicts.pause(attempt)
    elif len(items) == 1:  # REFUSED: this is the row
        bug = not isinstance(error, sa_exc.SQLAlchemyError)
        log.warning("%s: %r could not be written: %s", what, items[0], describe(error), exc_info=error if bug else None)
        done.refused.append((items[0], describe(error)))
        return
    if len(items) == 1:
        await _write(state, items, fn, what, deadline, done, attempt + 1)
        return
    half = len(items) // 2
    next_attempt = attempt + 1 if kind is LOST else attempt
    await _write(state, items[:half], fn, what, deadline, done, next_attempt)
    await _write(state, items[half:], fn, what, deadline, done, next_attempt)


async def to_the_end(coro: Awaitable[T]) -> T:
    """Await ``coro`` in a task of its own that a cancellation of the caller does not cut short: cancelled
    (the process stops), the caller waits for it to end, then is cancelled.  A write in flight is finished,
    within its deadline, rather than cut in the middle of a statement (which drops its connection, and on
    SQLite leaves the file locked by a connection whose close the stopping loop never runs)."""
    task = asyncio.ensure_future(coro)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


def describe(exc: BaseException) -> str:
    """What went wrong, in one line: the database's words, or the error's name."""
    if isinstance(exc, sa_exc.DBAPIError):
        args: tuple[Any, ...] = getattr(exc.orig, "args", ())
        if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):  # MySQL's (code, message)
            return args[1].splitlines()[0][:200] if args[1] else str(args[0])
        return conflicts.said(exc)
    if isinstance(exc, sa_exc.TimeoutError):
        return "no database connection came free in time"
    if isinstance(exc, TimeoutError):
        return "the database did not answer in time"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
