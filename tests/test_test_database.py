"""The suite never empties a database that somebody keeps data in, and keeps to the names it is given."""

import contextlib

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from myapp.models.engine import create_engine

from .conftest import GIVEN_MYSQL_URL, MARKER, WORKER, ForeignTables, reset_database, run, scratch_url


async def _execute(url, *statements):
    engine = create_engine(url, {})
    try:
        async with engine.begin() as conn:
            return [await conn.execute(text(s)) for s in statements][-1]
    finally:
        await engine.dispose()


def url_of(mysql_url, database):
    return make_url(mysql_url).set(database=database).render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_database(suffix):
    """An empty database of one test's own, named from the suite's (conftest.scratch_url): yields its URL, and
    drops it afterwards."""
    url = scratch_url(suffix)
    name, server = make_url(url).database, url_of(url, "")
    run(_execute(server, f"DROP DATABASE IF EXISTS `{name}`", f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield url
    finally:
        run(_execute(server, f"DROP DATABASE IF EXISTS `{name}`"))


def test_the_suite_uses_a_database_of_its_own(mysql_url):
    """The one given (MYAPP_TEST_MYSQL_URL), or a worker's own named from it: never a fixed name that another
    checkout on the same server may use too."""
    given = make_url(GIVEN_MYSQL_URL).database
    assert make_url(mysql_url).database == (f"{given}_{WORKER}" if WORKER else given)
    assert run(_execute(mysql_url, "SELECT DATABASE()")).scalar() == make_url(mysql_url).database


def test_a_database_with_foreign_tables_is_left_alone(mysql_url):
    with fresh_database("guard") as scratch:
        run(
            _execute(
                scratch,
                "CREATE TABLE users (id INT PRIMARY KEY)",
                "CREATE TABLE customers (id INT PRIMARY KEY)",
                "INSERT INTO customers VALUES (1)",
            )
        )
        with pytest.raises(ForeignTables, match="customers"):
            run(reset_database(scratch))
        rows = run(_execute(scratch, "SELECT COUNT(*) FROM customers")).scalar()
        tables = run(_execute(scratch, "SHOW TABLES")).scalars().all()
        assert rows == 1 and sorted(tables) == ["customers", "users"]  # nothing dropped, not even ours


def test_tables_of_an_older_revision_of_ours_are_emptied(mysql_url):
    with fresh_database("old") as scratch:
        run(
            _execute(
                scratch,
                "CREATE TABLE login_failures (id INT PRIMARY KEY)",
                "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
                "INSERT INTO alembic_version VALUES ('0002')",
            )
        )
        run(reset_database(scratch))
        assert run(_execute(scratch, "SHOW TABLES")).scalars().all() == [MARKER]
        # the same tables at a revision that is not ours, in a database the suite did not mark, are left alone
        run(
            _execute(
                scratch,
                f"DROP TABLE {MARKER}",
                "CREATE TABLE login_failures (id INT PRIMARY KEY)",
                "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
                "INSERT INTO alembic_version VALUES ('a1b2c3')",
            )
        )
        with pytest.raises(ForeignTables):
            run(reset_database(scratch))


def test_a_database_the_suite_marked_is_emptied_whatever_it_holds(mysql_url):
    """A newer checkout's run leaves tables of revisions this one does not know: still the suite's own."""
    with fresh_database("marked") as scratch:
        run(reset_database(scratch))
        assert run(_execute(scratch, "SHOW TABLES")).scalars().all() == [MARKER]
        run(
            _execute(
                scratch,
                "CREATE TABLE status_pages (id INT PRIMARY KEY)",
                "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
                "INSERT INTO alembic_version VALUES ('9999_from_the_future')",
            )
        )
        run(reset_database(scratch))
        assert run(_execute(scratch, "SHOW TABLES")).scalars().all() == [MARKER]


def test_a_missing_database_is_created(mysql_url):
    url = scratch_url("fresh")
    name, server = make_url(url).database, url_of(url, "")
    run(_execute(server, f"DROP DATABASE IF EXISTS `{name}`"))
    try:
        run(reset_database(url))
        assert run(_execute(server, f"SHOW DATABASES LIKE '{name}'")).scalars().all() == [name]
    finally:
        run(_execute(server, f"DROP DATABASE IF EXISTS `{name}`"))
