"""Claims: how processes that share one database split due rows (monitors to check, deliveries to send)
so that each row is taken by one of them, whatever their number.

A claimed row's ``claimed_by`` names the process and its ``due_at`` becomes the time the claim runs out:
a process that stops before it finishes leaves the row to be taken again then.
"""

import collections
import functools
import operator

from sqlalchemy import bindparam, update

#: the key of a due row's owner, the share every claim keeps (``shared_fairly``)
BY_OWNER = operator.attrgetter("user_id")


def shared_fairly(rows, shares, exempt=None):
    """The rows, in order, that keep every key within its share: ``shares`` is [(key of a row, at most this
    many at once, {key: how many the process has now})], a row counting once under each key; a row for which
    ``exempt(row)`` is true is taken whatever the counts, and counts nothing.  A row passed over leaves its
    place to the next: one owner's (or one channel's) many rows never take the places of the others'."""
    counts = [(key, most, collections.Counter(now)) for key, most, now in shares]
    chosen = []
    for row in rows:
        if exempt is not None and exempt(row):
            chosen.append(row)
        elif all(count[key(row)] < most for key, most, count in counts):
            for key, _, count in counts:
                count[key(row)] += 1
            chosen.append(row)
    return chosen


async def take(session, due, table, owner, retake, params, pick=None, lock_of=None):
    """Claim rows of ``table`` in the caller's short transaction: (the rows ``due`` read, the rows taken).

    ``due``: a SELECT of the due rows (``id`` and ``due_at`` among its columns), ordered and limited, run
    with ``params``; ``pick(rows)``: the rows to take of those read (default: all); ``retake(rows)``: the
    time their claims run out.  On MySQL/MariaDB the rows are read ``FOR UPDATE SKIP LOCKED`` (``lock_of``:
    the table to lock when ``due`` joins others), so processes that claim at once read different rows,
    and one UPDATE takes them; on SQLite (one writer at a time) each row is taken by a conditional UPDATE,
    only if its ``due_at`` is still what was read.
    """
    locking = session.bind.dialect.name == "mysql"
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
        if (await session.execute(one, {**values, "claim_id": row.id, "seen_due": row.due_at})).rowcount == 1
    ]
    return rows, taken


@functools.cache
def _claim_all(table):
    """The claims of one batch, where the rows are locked (SKIP LOCKED) until commit."""
    return (
        update(table)
        .where(table.c.id.in_(bindparam("ids", expanding=True)))
        .values(claimed_by=bindparam("owner"), due_at=bindparam("retake"))
    )


@functools.cache
def _claim_one(table):
    """One claim, where nothing is locked: taken only if nobody took it since it was read."""
    return (
        update(table)
        .where(table.c.id == bindparam("claim_id"), table.c.due_at == bindparam("seen_due"))
        .values(claimed_by=bindparam("owner"), due_at=bindparam("retake"))
    )
