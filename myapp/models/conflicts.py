"""Transactions that lose to another and may simply be tried again.

On one MariaDB that is a deadlock.  On a Galera cluster it is also, and far more often, a commit whose rows
another node's commit changed first: each node locks only its own rows, so two processes on two nodes may
both claim a monitor (``SKIP LOCKED`` skips nothing the other node holds), and the cluster lets the first
commit win and fails the other's ("certification").  Both answer error 1213.

Nothing is wrong then: a background task counts it and goes on (the rows went to the winner), and a
request is tried again from the start (pyramid_retry, set up here).
"""

import asyncio
import logging
import random

LOST = 1213  # ER_LOCK_DEADLOCK: "Deadlock found when trying to get lock; try restarting transaction"


def lost(exc: BaseException) -> bool:
    """Whether ``exc`` (a SQLAlchemy DBAPIError) says its transaction lost to another."""
    orig = getattr(exc, "orig", None)
    return orig is not None and bool(orig.args) and orig.args[0] == LOST


def said(exc: BaseException) -> str:
    """The first line of what the server or driver said, for a log line (the error's name when it said nothing:
    a TimeoutError)."""
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def failed(log: logging.Logger, exc: BaseException, what: str) -> bool:
    """Log that ``what`` failed: quietly (debug) when it lost to another, as a warning otherwise.  Returns
    whether it lost, for the caller's count."""
    if lost(exc):
        log.debug("%s lost to another transaction: %s", what, said(exc))
        return True
    log.warning("%s failed: %s", what, said(exc))
    return False


async def pause(attempt: int) -> None:
    """Before trying a lost transaction again: a moment, longer after each attempt and not the same for all
    writers, so that what it lost to is done (a Galera node applies another's writes a few ms later)."""
    await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)
