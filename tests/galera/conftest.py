"""A private three-node Galera cluster for this directory's tests (cluster.py), and an app on its first node
to set the tests up with.  Skipped where Galera is not installed, except under CI=true (.ci/run installs it)."""

import os

import pytest
from pyramid.paster import get_appsettings
from webtest import TestApp

from myapp import main
from myapp.accounts import service
from myapp.accounts.passwords import Passwords
from myapp.models import run_in_session
from myapp.services import find

from ..conftest import HERE, ON_CI, PASSWORD
from ..monitors.conftest import target  # noqa: F401 (fixture)
from .cluster import Cluster, available


def pytest_collection_modifyitems(items):
    for item in items:
        if "/galera/" in str(item.fspath):
            item.add_marker(pytest.mark.galera)


@pytest.fixture(scope="module")
def cluster():
    missing = available()
    if missing:
        message = f"Galera cannot run here: {missing} missing (apt-get install galera-4 rsync)"
        if ON_CI:
            pytest.fail(message + " (CI=true: the Galera tests are mandatory)")
        pytest.skip(message)
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


def cluster_settings(node, **overrides):
    settings = get_appsettings(os.path.join(HERE, "testing.ini"))
    return {**settings, "sqlalchemy.url": node.url, "aio.debug": "false", "myapp.create_schema": "true", **overrides}


@pytest.fixture
def galera_app(cluster):
    """(TestApp on node 1, write headers): the schema made, one user, nothing else."""
    for node in cluster.nodes:
        if node.process.poll() is not None or node.frozen:
            node.thaw() if node.frozen else node.start()
            node.wait_synced()
    app = main({}, **cluster_settings(cluster.nodes[0]))

    async def fresh(session):
        from sqlalchemy import text

        for table in ("deliveries", "monitor_channels", "channels", "check_results", "incidents", "monitors"):
            await session.execute(text(f"DELETE FROM {table}"))
        user = await session.scalar(service.select(service.User).where(service.User.email == "ada@example.com"))
        if user is None:
            user = await service.create_user(session, find(app.registry, Passwords), "ada@example.com", "Ada", PASSWORD)
        return (await service.create_api_key(session, user.id, "write"))[1]

    token = run_in_session(app.registry, fresh)
    yield TestApp(app), {"Authorization": f"Bearer {token}"}
    app.registry.aio_runtime.shutdown()
