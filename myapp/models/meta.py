import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Table
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names on every backend, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: A point in time, UTC, to the microsecond on every backend (MySQL's DATETIME keeps whole seconds).
Moment = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
#: A row id that may grow past 2**31 (SQLite's INTEGER PRIMARY KEY is already 64-bit, and must stay INTEGER).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def dialect(session: AsyncSession) -> str:
    """The database the session is bound to: "mysql" (MariaDB too) or "sqlite"."""
    bind = session.bind
    assert bind is not None, "every session of myapp's is bound to its loop's engine"
    return bind.dialect.name


def table_of(model: type[Base]) -> Table:
    """A model's table, as a Table (Core statements on the hot paths are built from it)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def length_of(column: Any) -> int:
    """The characters a String column holds."""
    length = column.type.length
    assert isinstance(length, int), f"{column} has no length"
    return length


def utcnow() -> datetime.datetime:
    """Now, in UTC, without a time zone: how times are stored."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
