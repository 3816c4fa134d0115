"""initialize_myapp_db and the alembic command line, both driven by an ini file."""

import os
import subprocess
import sys

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
    subprocess.run(["initialize_myapp_db", ini], check=True, capture_output=True,
                   env={**os.environ, "MYAPP_DATABASE_URL": env_url})
    assert os.path.exists(tmp_path / "from-env.sqlite")
    assert not os.path.exists(tmp_path / "from-ini.sqlite")


def test_alembic_command_line_reads_the_ini(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite"
    ini = write_ini(tmp_path, url)
    alembic = [sys.executable, "-m", "alembic", "-c", ini]
    subprocess.run(alembic + ["upgrade", "head"], check=True, capture_output=True)
    current = subprocess.run(alembic + ["current"], check=True, capture_output=True, text=True).stdout
    assert head_revision() in current
