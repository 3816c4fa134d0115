"""Claims: how processes that share one database split due rows (monitors to check, deliveries to send)
so that each row is taken by one of them, whatever their number.

A claimed row's ``claimed_by`` names the process and its ``due_at`` becomes the time the claim runs out:
a process that stops before it finishes leaves the row to be taken again then.
"""

import collections
import datetime
import functools
import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Select, Table, Update, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from .bulk import changed
from .meta import dialect

#: [(the key of a row, at most this many at once, {key: how many the process has now})]
Shares = Sequence[tuple[Callable[[Any], Hashable], int, Mapping[Any, int]]]

#: the key of a due row's owner, the share every claim keeps (``shared_fairly``)
BY_OWNER = operator.attrgetter("user_id")


def shared_fairly(rows: Sequence[Any], shares: Shares, exempt: Callable[[Any], bool] | None = None) -> list[Any]:
    """The rows, in order, that keep every key within its share: ``shares`` is [(key of a row, at most this
    many at once, {key: how many the process has now})], a row counting once under each key; a row for which
    ``exempt(row)`` is true is taken whatever the counts, and counts nothing.  A row passed over leaves its
    place to the next: one owner's (or one channel's) many rows never take the places of the others'."""
    counts = [(key, most, collections.Counter(now)) for key, most, now in shares]
    chosen: list[Any] = []
    for row in rows:
        if exempt is not None and exempt(row):
            chosen.append(row)
        elif all(count[key(row)] < most for key, most, count in counts):
            for key, _, count in counts:
                count[key(row)] += 1
            chosen.append(row)
    return chosen


async def take(
    session: AsyncSession,
    due: Select[Any],
    table: Table,
    owner: str,
    retake: Callable[[Sequence[Row[Any]]], datetime.datetime],
    params: dict[str, Any],
    pick: Callable[[Sequence[Row[Any]]], Sequence[Row[Any]]] | None = None,
    lock_of: Table | None = None,
) -> tuple[Sequence[Row[Any]], Sequence[Row[Any]]]:
    """Claim rows of ``table`` in the caller's short transaction: (the rows ``due`` read, the rows taken).

    ``due``: a SELECT of the due rows (``id`` and ``due_at`` among its columns), ordered and limited, run
    with ``params``; ``pick(rows)``: the rows to take of those read (default: all); ``retake(rows)``: the
    time their claims run out.  On MySQL/MariaDB the rows are read ``FOR UPDATE SKIP LOCKED`` (``lock_of``:
    the table to lock when ``due`` joins others), so processes that claim at once read different rows,
    and one UPDATE takes them; on SQLite (one writer at a time) each row is taken by a conditional UPDATE,
    only if its ``due_at`` is still what was read.
    """
    locking = dialect(session) == "mysql"
    query = due.with_for_update(skip_locked=True, of=lock_of) if locking else due
    rows = (await session.execute(query, params)).all()
    chosen = pick(rows) if pick is not None else rows
    if not chosen:
        return rows, []
    values = {"owner": owner, "retake": retake(chosen)}
    if locking:
        await session.execute(_claim_all(table), {**values, "ids": [row.id for row in chosen]})
        return rows, chosen
    one = _claim_one(table)
    taken = [
        row
        for row in chosen
        if await changed(session, one, {**values, "claim_id": row.id, "seen_due": row.due_at}) == 1
    ]
    return rows, taken


@functools.cache
def _claim_all(table: Table) -> Update:
    """The claims of one batch, where the rows are locked (SKIP LOCKED) until commit."""
    return (
        update(table)
        .where(table.c.id.in_(bindparam("ids", expanding=True)))
        .values(claimed_by=bindparam("owner"), due_at=bindparam("retake"))
    )


@functools.cache
def _claim_one(table: Table) -> Update:
    """One claim, where nothing is locked: taken only if nobody took it since it was read."""
    return (
        update(table)
        .where(table.c.id == bindparam("claim_id"), table.c.due_at == bindparam("seen_due"))
        .values(claimed_by=bindparam("owner"), due_at=bindparam("retake"))
    )
