"""models.writes, the one policy of every background writer: a batch with rows that each kind of constraint
refuses writes every other row and names each refused one; a batch that loses to another transaction is
written again; on SQLite and MariaDB."""

import pymysql
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from myapp.aio import loop_state
from myapp.models import writes

from ..conftest import in_app

PARENT, PROBE = "writes_parent", "writes_probe"

TABLES = {
    "sqlite": [
        f"CREATE TABLE {PARENT} (id INTEGER PRIMARY KEY)",
        f"CREATE TABLE {PROBE} (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL UNIQUE, value INTEGER NOT NULL, "
        f"parent_id INTEGER REFERENCES {PARENT}(id), code VARCHAR(5) CHECK (length(code) <= 5), note VARCHAR(20))",
        f"CREATE TRIGGER {PROBE}_poison BEFORE INSERT ON {PROBE} WHEN NEW.note = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
    ],
    "mysql": [
        f"CREATE TABLE {PARENT} (id INTEGER PRIMARY KEY)",
        f"CREATE TABLE {PROBE} (id INTEGER PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20) NOT NULL UNIQUE, "
        f"value INTEGER NOT NULL, parent_id INTEGER, code VARCHAR(5), note VARCHAR(20), "
        f"FOREIGN KEY (parent_id) REFERENCES {PARENT}(id))",
        # a trigger's SIGNAL is an error no driver maps to a class: only the probe tells it from an outage
        f"CREATE TRIGGER {PROBE}_poison BEFORE INSERT ON {PROBE} FOR EACH ROW BEGIN "
        "IF NEW.note = 'poison' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned'; END IF; END",
    ],
}


@pytest.fixture
def probe_tables(app, backend):
    async def create(session):
        for statement in TABLES[backend]:
            await session.execute(text(statement))
        await session.execute(text(f"INSERT INTO {PARENT} (id) VALUES (1)"))

    async def drop(session):
        await session.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))
        await session.execute(text(f"DROP TABLE IF EXISTS {PARENT}"))

    in_app(app, drop)
    in_app(app, create)
    yield
    in_app(app, drop)


def row(name, **values):
    return {"name": name, "value": 1, "parent_id": 1, "code": "ok", "note": None, **values}


async def insert_rows(session, rows):
    await session.execute(
        text(
            f"INSERT INTO {PROBE} (name, value, parent_id, code, note) VALUES (:name, :value, :parent_id, :code, :note)"
        ),
        rows,
    )
    return [r["name"] for r in rows]


def write(app, rows, fn=insert_rows):
    async def go():
        return await writes.write(loop_state(), rows, fn, "writing probes")

    return app.registry.aio_runtime.run(go())


def stored(app):
    return in_app(app, lambda s: s.execute(text(f"SELECT name FROM {PROBE} ORDER BY name"))).scalars().all()


def test_each_refused_row_is_named_and_every_other_row_written(app, probe_tables, backend):
    bad = {
        "taken": row("good-03"),  # UNIQUE: the same name as a good row before it in the batch
        "no value": row("no value", value=None),  # NOT NULL
        "no parent": row("no parent", parent_id=999),  # FOREIGN KEY
        "too long": row("too long", code="toolong"),  # VARCHAR(5) in strict mode; a CHECK on SQLite
        "poisoned": row("poisoned", note="poison"),  # a trigger's own error
    }
    good = [row(f"good-{n:02}") for n in range(40)]
    batch = good[:10] + [bad["taken"]] + good[10:20] + [bad["no value"], bad["no parent"]] + good[20:]
    batch[30:30] = [bad["too long"], bad["poisoned"]]
    done = write(app, batch)
    assert stored(app) == sorted(r["name"] for r in good)
    assert sorted(name for _, name in done.written) == sorted(r["name"] for r in good)
    refused = {item["name"]: why for item, why in done.refused}
    assert sorted(refused) == sorted(r["name"] for r in bad.values()) and done.unwritten == []
    assert "poisoned" in refused["poisoned"]
    if backend == "mysql":
        assert "Duplicate entry" in refused["good-03"] and "too long" in refused["too long"].lower()
    else:
        assert "UNIQUE" in refused["good-03"] and "CHECK" in refused["too long"]


def test_a_batch_that_loses_is_written_again_and_one_that_keeps_losing_is_unwritten(app, probe_tables):
    losses = {"left": 2}

    async def loses_twice(session, rows):
        if losses["left"]:
            losses["left"] -= 1  # as a deadlock, or a Galera node's commit that came first, says it
            raise OperationalError("INSERT", {}, pymysql.err.OperationalError(1213, "Deadlock found"))
        return await insert_rows(session, rows)

    done = write(app, [row(f"r{n}") for n in range(8)], loses_twice)
    assert done.conflicts == 2 and len(done.written) == 8 and stored(app) == [f"r{n}" for n in range(8)]

    async def always_loses(session, rows):
        raise OperationalError("INSERT", {}, pymysql.err.OperationalError(1213, "Deadlock found"))

    done = write(app, [row("never")], always_loses)
    assert done.written == [] and done.refused == [] and [r["name"] for r in done.unwritten] == ["never"]
    assert done.conflicts == writes.ATTEMPTS
