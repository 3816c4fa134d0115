"""The suite never empties a database that somebody keeps data in."""

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from myapp.models.engine import create_engine

from .conftest import MARKER, ForeignTables, reset_database, run


async def _execute(url, *statements):
    engine = create_engine(url, {})
    try:
        async with engine.begin() as conn:
            return [await conn.execute(text(s)) for s in statements][-1]
    finally:
        await engine.dispose()


def url_of(mysql_url, database):
    return make_url(mysql_url).set(database=database).render_as_string(hide_password=False)


def test_the_suite_uses_a_database_of_its_own(mysql_url):
    assert make_url(mysql_url).database == "myapp_test"


def test_a_database_with_foreign_tables_is_left_alone(mysql_url):
    scratch = url_of(mysql_url, "myapp_test_guard")
    server = url_of(mysql_url, "")
    run(_execute(server, "DROP DATABASE IF EXISTS myapp_test_guard", "CREATE DATABASE myapp_test_guard"))
    try:
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
    finally:
        run(_execute(server, "DROP DATABASE IF EXISTS myapp_test_guard"))


def test_tables_of_an_older_revision_of_ours_are_emptied(mysql_url):
    scratch = url_of(mysql_url, "myapp_test_old")
    server = url_of(mysql_url, "")
    run(_execute(server, "DROP DATABASE IF EXISTS myapp_test_old", "CREATE DATABASE myapp_test_old"))
    try:
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
    finally:
        run(_execute(server, "DROP DATABASE IF EXISTS myapp_test_old"))


def test_a_database_the_suite_marked_is_emptied_whatever_it_holds(mysql_url):
    """A newer checkout's run leaves tables of revisions this one does not know: still the suite's own."""
    scratch = url_of(mysql_url, "myapp_test_marked")
    server = url_of(mysql_url, "")
    run(_execute(server, "DROP DATABASE IF EXISTS myapp_test_marked", "CREATE DATABASE myapp_test_marked"))
    try:
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
    finally:
        run(_execute(server, "DROP DATABASE IF EXISTS myapp_test_marked"))


def test_a_missing_database_is_created(mysql_url):
    server = url_of(mysql_url, "")
    run(_execute(server, "DROP DATABASE IF EXISTS myapp_test_fresh"))
    try:
        run(reset_database(url_of(mysql_url, "myapp_test_fresh")))
        names = run(_execute(server, "SHOW DATABASES LIKE 'myapp_test_fresh'")).scalars().all()
        assert names == ["myapp_test_fresh"]
    finally:
        run(_execute(server, "DROP DATABASE IF EXISTS myapp_test_fresh"))
