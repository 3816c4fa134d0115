"""models.bulk.update_each on SQLite and MariaDB: each row gets its own values, a row whose keys no longer
match is left as it is, and batches longer than a statement's rows (and of every padded size) are whole."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from myapp.models import bulk
from myapp.models.meta import Moment, utcnow

from ..conftest import in_app

metadata = MetaData()
things = Table(
    "bulk_things",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("name", String(20)),
    Column("at", Moment),
)
KEYS = {"id": "row_id", "version": "seen"}
VALUES = {"name": "new_name", "at": "new_at", "version": "new_version"}


@pytest.fixture
def table(app):
    in_app(app, lambda s: s.run_sync(lambda sync: metadata.create_all(sync.connection())))
    yield
    in_app(app, lambda s: s.run_sync(lambda sync: metadata.drop_all(sync.connection())))


def rows(app):
    return in_app(app, lambda s: s.execute(select(things).order_by(things.c.id))).all()


@pytest.mark.parametrize("count", [1, 3, 17, bulk.CHUNK + 5])
def test_each_row_gets_its_own_values_and_a_stale_one_none(app, table, count):
    at = utcnow().replace(microsecond=123456)
    in_app(app, lambda s: s.execute(things.insert(), [{"id": n, "version": 0, "name": "old"} for n in range(count)]))
    params = [
        # the last row was moved on by someone else (version 0, not 5): it stays as it is
        {
            "row_id": n,
            "seen": 5 if n == count - 1 and count > 1 else 0,
            "new_name": f"n{n}" if n % 2 else None,
            "new_at": at,
            "new_version": 1,
        }
        for n in range(count)
    ]
    params.append({"row_id": count + 100, "seen": 0, "new_name": "nobody", "new_at": at, "new_version": 1})
    in_app(app, lambda s: bulk.update_each(s, things, KEYS, VALUES, params))
    expected = [(n, 1, f"n{n}" if n % 2 else None, at) for n in range(count)]
    if count > 1:
        expected[-1] = (count - 1, 0, "old", None)
    assert [tuple(r) for r in rows(app)] == expected
