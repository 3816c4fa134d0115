"""Many rows, each changed its own way, in one statement.

An UPDATE run with many parameter sets costs one round trip per row on MySQL/MariaDB (the drivers batch
only INSERT ... VALUES).  A writer that moves a batch of monitors on (the scheduler's results, the pings)
would wait for the database once per monitor.  ``update_each`` sends one statement instead: the rows' new
values as a derived table, joined to the table on its keys::

    UPDATE monitors, (SELECT %s AS row_id, %s AS new_state ... UNION ALL SELECT ...) AS v
    SET monitors.state = v.new_state ... WHERE monitors.id = v.row_id

The statement is compiled once per shape and size: sizes are powers of two up to ``CHUNK``, a batch is sent
in chunks of ``CHUNK`` rows and the last is padded with rows of NULL keys, which match nothing.  SQLite
(in the process: no round trip to save) runs the plain statement once per row.
"""

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, Table, bindparam, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

CHUNK = 128  # rows in one statement, at most
_COMPILED: dict[tuple[Any, ...], tuple[str, int]] = {}  # (dialect, table, keys, values, size): (SQL, parameters a row)
_PLAIN: dict[tuple[Any, ...], Any] = {}  # (table, keys, values): the statement of one row


def plain(table: Table, keys: Mapping[str, str], values: Mapping[str, str]) -> Any:
    """The UPDATE of one row of ``table`` (as ``update_each``'s arguments say), built once."""
    cache_key = (table.name, tuple(keys.items()), tuple(values.items()))
    if cache_key not in _PLAIN:
        _PLAIN[cache_key] = (
            update(table)
            .where(*(table.c[column] == bindparam(param) for column, param in keys.items()))
            .values({column: bindparam(param) for column, param in values.items()})
        )
    return _PLAIN[cache_key]


async def changed(session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None) -> int:
    """Run an UPDATE or DELETE: how many rows it changed."""
    return cast(CursorResult[Any], await session.execute(statement, params)).rowcount


def _size(count: int) -> int:
    size = 1
    while size < count:
        size *= 2
    return size


def _joined(
    dialect: Any, table: Table, keys: tuple[tuple[str, str], ...], values: tuple[tuple[str, str], ...], size: int
) -> tuple[str, int]:
    cache_key = (dialect.name, dialect.driver, table.name, keys, values, size)
    if cache_key not in _COMPILED:
        named = (*keys, *values)
        rows = [
            select(*(bindparam(f"{param}_{n}", type_=table.c[column].type).label(param) for column, param in named))
            for n in range(size)
        ]
        given = (union_all(*rows) if size > 1 else rows[0]).subquery("v")
        statement = (
            update(table)
            .where(*(table.c[column] == given.c[param] for column, param in keys))
            .values({column: given.c[param] for column, param in values})
        )
        compiled = statement.compile(dialect=dialect)
        # the driver's parameters go by position: row after row, each in the order of ``named``
        assert list(compiled.positiontup or ()) == [f"{p}_{n}" for n in range(size) for _, p in named]
        _COMPILED[cache_key] = (str(compiled), len(named))
    return _COMPILED[cache_key]


async def update_each(
    session: AsyncSession,
    table: Table,
    keys: Mapping[str, str],
    values: Mapping[str, str],
    params: Sequence[Mapping[str, Any]],
) -> None:
    """Update a row of ``table`` for each of ``params``: the row whose columns ``keys`` {column: parameter
    name} equal the parameters gets the columns ``values`` {column: parameter name} set (nothing happens
    where no row matches)."""
    if not params:
        return
    keys_, values_ = tuple(keys.items()), tuple(values.items())
    bind = session.bind
    assert bind is not None
    dialect = bind.dialect
    if dialect.name != "mysql":
        await session.execute(plain(table, keys, values), list(params))
        return
    names = [param for _, param in (*keys_, *values_)]
    connection = await session.connection()
    for start in range(0, len(params), CHUNK):
        chunk = params[start : start + CHUNK]
        sql, width = _joined(dialect, table, keys_, values_, _size(len(chunk)))
        flat = [row[name] for row in chunk for name in names]
        flat += [None] * (_size(len(chunk)) * width - len(flat))  # padding rows: NULL keys match no row
        await connection.exec_driver_sql(sql, tuple(flat))
