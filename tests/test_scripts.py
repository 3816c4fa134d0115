"""initialize_myapp_db and the alembic command line, both driven by an ini file."""

import contextlib
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from myapp.models.engine import create_engine
from myapp.models.schema import head_revision

from .conftest import HERE, run


def write_ini(tmp_path, url):
    with open(os.path.join(HERE, "testing.ini")) as f:
        ini = f.read().replace("sqlite+aiosqlite:///%(here)s/testing.sqlite", url)
    path = tmp_path / "app.ini"
    path.write_text(ini)
    return str(path)


def revision(url):
    async def read():
        engine = create_engine(url, {})
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        finally:
            await engine.dispose()

    return run(read())


def test_initialize_db_creates_the_schema(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite"
    ini = write_ini(tmp_path, url)
    out = subprocess.run(["initialize_myapp_db", ini], capture_output=True, text=True, check=True)
    assert f"revision {head_revision()}" in out.stdout
    assert revision(url) == head_revision()


def test_environment_variable_overrides_the_ini(tmp_path):
    ini = write_ini(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/from-ini.sqlite")
    env_url = f"sqlite+aiosqlite:///{tmp_path}/from-env.sqlite"
    subprocess.run(
        ["initialize_myapp_db", ini], check=True, capture_output=True, env={**os.environ, "MYAPP_DATABASE_URL": env_url}
    )
    assert os.path.exists(tmp_path / "from-env.sqlite")
    assert not os.path.exists(tmp_path / "from-ini.sqlite")


def test_alembic_command_line_reads_the_ini(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite"
    ini = write_ini(tmp_path, url)
    alembic = [sys.executable, "-m", "alembic", "-c", ini]
    subprocess.run(alembic + ["upgrade", "head"], check=True, capture_output=True)
    current = subprocess.run(alembic + ["current"], check=True, capture_output=True, text=True).stdout
    assert head_revision() in current


def test_create_admin_then_list_users_with_its_key(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/admin.sqlite"
    ini = write_ini(tmp_path, url)
    subprocess.run(["initialize_myapp_db", ini], check=True, capture_output=True)
    out = subprocess.run(
        ["create_myapp_admin", ini, "--email", "Root@Example.com", "--password-stdin"],
        input="an admin password\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "created admin root@example.com" in out
    # running it again for the same address keeps one user, still an admin
    again = subprocess.run(
        ["create_myapp_admin", ini, "--email", "root@example.com", "--password-stdin"],
        input="another admin password\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "is now an admin" in again

    from pyramid.paster import get_appsettings
    from webtest import TestApp

    from myapp import main

    app = main({}, **get_appsettings(ini))
    try:
        client = TestApp(app)
        token = client.post_json(
            "/api/tokens",
            {"email": "root@example.com", "password": "another admin password", "scope": "read"},
            status=201,
        ).json["token"]
        users = client.get("/api/users", headers={"Authorization": f"Bearer {token}"}).json["users"]
        assert [(u["email"], u["role"]) for u in users] == [("root@example.com", "admin")]
    finally:
        app.registry.aio_runtime.shutdown()


def test_create_admin_rejects_a_weak_password(tmp_path):
    ini = write_ini(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/weak.sqlite")
    res = subprocess.run(
        ["create_myapp_admin", ini, "--email", "root@example.com", "--password-stdin"],
        input="short\n",
        capture_output=True,
        text=True,
    )
    assert res.returncode != 0 and "at least 10 characters" in res.stderr


def test_pserve_refuses_an_unmigrated_database(tmp_path):
    ini = write_ini(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/empty.sqlite").replace("app.ini", "app.ini")
    text_ = open(ini).read().replace("myapp.create_schema = true", "myapp.create_schema = false")
    text_ += "\n[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:0\n"
    open(ini, "w").write(text_)
    res = subprocess.run(["pserve", ini], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    assert f"initialize_myapp_db {ini}" in res.stderr
    assert "Traceback" not in res.stderr


def test_initialize_db_without_a_database_url_says_what_to_set(tmp_path):
    ini = write_ini(tmp_path, "")
    env = {k: v for k, v in os.environ.items() if k != "MYAPP_DATABASE_URL"}
    res = subprocess.run(["initialize_myapp_db", ini], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode != 0
    assert "MYAPP_DATABASE_URL" in res.stderr and "sqlalchemy.url" in res.stderr
    assert "Traceback" not in res.stderr


def test_pserve_without_a_secret_says_what_to_set(tmp_path):
    ini = write_ini(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/s.sqlite")
    text_ = (
        open(ini).read().replace("session.secret = testing-secret-0123456789-0123456789-0123456789", "session.secret =")
    )
    open(ini, "w").write(text_ + "\n[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:0\n")
    res = subprocess.run(["pserve", ini], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "MYAPP_SESSION_SECRET" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.one_backend  # (app: every area imported, so every Section is known)
def test_every_setting_the_docs_name_is_one_myapp_knows(app):
    """A setting the docs tell operators to set must not stop pserve as unknown (aio.bake_request_properties
    did: it was read, documented, and refused)."""
    import pathlib
    import re

    from myapp import READ_HERE
    from myapp.settings import known_names

    docs = "".join(path.read_text() for path in pathlib.Path(HERE, "docs").glob("*.md"))
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", docs, re.MULTILINE))
    assert len(documented) > 40
    assert documented - known_names() - READ_HERE == set()


@pytest.mark.parametrize(
    "line, says",
    [
        (
            "monitors.min_intervall = 5",
            "monitors.min_intervall is not a setting myapp knows; did you mean monitors.min_interval?",
        ),
        (
            "monitors.private_targets = deny",
            "monitors.private_targets is not a setting myapp knows; it is outbound.private_targets now",
        ),
    ],
)
def test_pserve_stops_on_a_setting_it_does_not_know(tmp_path, line, says):
    """Misspelled, or renamed since: pserve names it rather than run with the default in its place."""
    ini = write_ini(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/s.sqlite")
    text_ = open(ini).read().replace("[app:main]\n", f"[app:main]\n{line}\n")
    open(ini, "w").write(text_ + "\n[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:0\n")
    res = subprocess.run(["pserve", ini], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and f"myapp: {says} (in {ini})" in res.stderr and "Traceback" not in res.stderr


def scratch_database(tmp_path, backend, request):
    """The URL of an empty database of the test's own: a file, or a MariaDB database dropped afterwards."""
    from .test_test_database import fresh_database

    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/migrated.sqlite"
    request.getfixturevalue("mysql_url")  # the server answers (or the test is skipped)
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    return stack.enter_context(fresh_database("schema"))


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_the_migrations_make_the_schema_the_models_describe(tmp_path, backend, request):
    """Every table, column and index of the models, made by Alembic's migrations and nothing else."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from myapp.models.schema import upgrade
    from myapp.tables import metadata

    url = scratch_database(tmp_path, backend, request)
    upgrade({"sqlalchemy.url": url})

    async def differences():
        engine = create_engine(url, {})
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
        finally:
            await engine.dispose()

    assert run(differences()) == []


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_an_upgrade_keeps_the_rows_that_refer_to_a_copied_table(tmp_path, backend, request):
    """0012 copies maintenance_windows on SQLite (to drop a column): the copy must not cascade-delete the rows
    that refer to it, and each window keeps its monitor, or stays one for all monitors."""
    from myapp.models.schema import upgrade

    url = scratch_database(tmp_path, backend, request)
    upgrade({"sqlalchemy.url": url}, "0011")
    window = (
        "INSERT INTO maintenance_windows (id, user_id, monitor_id, name, kind, starts_at, ends_at, created_at,"
        " updated_at) VALUES ({0}, 1, {1}, 'w', 'once', '2026-01-01', '2027-01-01', '2026-01-01', '2026-01-01')"
    )

    async def fill():
        from sqlalchemy.ext.asyncio import AsyncSession

        from myapp.monitors.schema import MonitorFields
        from myapp.monitors.service import create_monitor

        engine = create_engine(url, {})
        try:
            async with AsyncSession(engine) as session:
                await session.execute(
                    text(
                        "INSERT INTO users (id, email, display_name, password_hash, role) VALUES (1, 'a@x', 'a', 'h', 'user')"
                    )
                )
                fields = MonitorFields(name="m", url="http://127.0.0.1:9/").model_dump()
                ids = [(await create_monitor(session, 1, fields, 0)).id for _ in range(2)]
                await session.execute(text(window.format(1, ids[1])))
                await session.execute(text(window.format(2, "NULL")))
                await session.commit()
                return ids
        finally:
            await engine.dispose()

    _, second = run(fill())
    upgrade({"sqlalchemy.url": url})
    assert run(execute(url, "SELECT window_id, monitor_id FROM maintenance_window_monitors")) == [(1, second)]
    assert run(execute(url, "SELECT id, all_monitors FROM maintenance_windows ORDER BY id")) == [(1, 0), (2, 1)]


async def execute(url, *statements):
    """The rows of the last of ``statements``, run in one transaction."""
    engine = create_engine(url, {})
    try:
        async with engine.begin() as conn:
            for statement in statements:
                result = await conn.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else None
    finally:
        await engine.dispose()
