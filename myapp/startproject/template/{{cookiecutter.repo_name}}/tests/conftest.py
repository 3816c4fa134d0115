"""The application built through main(), served to WebTest, on real databases:
{%- if cookiecutter.database == "sqlalchemy" %}
SQLite (a temporary file) always, and MySQL/MariaDB when one answers.
{%- else %}
MySQL/MariaDB (the raw aiomysql pool needs one); the tests are skipped when none answers.
{%- endif %}

{{ cookiecutter.package_name.upper() }}_TEST_MYSQL_URL names the MySQL test database (default:
root with no password at 127.0.0.1:3306, database {{ cookiecutter.package_name }}_test, which the
tests empty: give them a database of their own).
"""

import asyncio
import os
from urllib.parse import unquote, urlsplit

import pytest
from pyramid.paster import get_appsettings
from webtest import TestApp

from {{ cookiecutter.package_name }} import main

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MYSQL_URL = os.environ.get("{{ cookiecutter.package_name.upper() }}_TEST_MYSQL_URL",
                           "mysql://root@127.0.0.1:3306/{{ cookiecutter.package_name }}_test")


def server_args(url):
    """(connection arguments without a database, the database's name) of a mysql:// URL."""
    parts = urlsplit(url)
    return ({"host": parts.hostname, "port": parts.port or 3306, "user": unquote(parts.username or ""),
             "password": unquote(parts.password or "")}, parts.path.strip("/"))


def mysql_answers(url):
    import aiomysql

    async def ping():
        async with aiomysql.connect(**server_args(url)[0], connect_timeout=2):
            pass

    try:
        asyncio.run(ping())
        return True
    except Exception:
        return False


def empty_mysql(url):
    """Drop and create the test database: the tests start from nothing."""
    import aiomysql

    async def reset():
        args, name = server_args(url)
        async with aiomysql.connect(**args, autocommit=True) as conn, conn.cursor() as cur:
            await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            await cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    asyncio.run(reset())

{% if cookiecutter.database == "sqlalchemy" %}
@pytest.fixture(scope="session", params=["sqlite", "mysql"])
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/test.sqlite"
    else:
        if not mysql_answers(MYSQL_URL):
            pytest.skip(f"no MySQL/MariaDB answers at {MYSQL_URL}")
        empty_mysql(MYSQL_URL)
        url = MYSQL_URL.replace("mysql://", "mysql+aiomysql://", 1)
    from alembic import command
    from alembic.config import Config

    config = Config(os.path.join(HERE, "testing.ini"))
    config.attributes["url"] = url
    command.upgrade(config, "head")
    return url
{% else %}
@pytest.fixture(scope="session")
def database_url():
    if not mysql_answers(MYSQL_URL):
        pytest.skip(f"no MySQL/MariaDB answers at {MYSQL_URL}")
    empty_mysql(MYSQL_URL)
    return MYSQL_URL
{% endif %}

@pytest.fixture(scope="session")
def app(database_url):
    settings = get_appsettings(os.path.join(HERE, "testing.ini"))
    settings["{{ 'sqlalchemy.url' if cookiecutter.database == 'sqlalchemy' else 'database.url' }}"] = database_url
    return main({}, **settings)

@pytest.fixture
def testapp(app):
    return TestApp(app)
