import pytest
from webtest import TestApp

from myapp.accounts import service

from ..conftest import in_app

PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app, testapp):
    """make_user(email, role="user") -> user id, created through the service layer."""

    def make(email, role="user", name=None):
        async def create(session):
            user = await service.create_user(session, app.registry.passwords, email, name or email.split("@")[0],
                                             PASSWORD, role=role)
            return user.id

        return in_app(app, create)

    return make


@pytest.fixture
def make_key(app):
    """make_key(user_id, scope) -> (key id, token)."""

    def make(user_id, scope):
        async def create(session):
            key, token = await service.create_api_key(session, user_id, scope)
            return key.id, token

        return in_app(app, create)

    return make


def csrf_token(client, path="/login"):
    return client.get(path).html.find("input", {"name": "csrf_token"})["value"]


@pytest.fixture
def browser(app, testapp):
    """browser(email=None) -> a TestApp with its own cookie jar, signed in as ``email`` if given."""

    def make(email=None, password=PASSWORD):
        client = TestApp(app, extra_environ={"HTTP_HOST": "localhost"})
        if email:
            res = client.post("/login", {"email": email, "password": password, "csrf_token": csrf_token(client)})
            assert res.status_int == 302, res.text
        return client

    return make
