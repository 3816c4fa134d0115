import pytest
from pyramid.config import Configurator


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request):
    return request.param


@pytest.fixture
def make_app(loop_kind):
    """make_app(setup, **settings) -> WSGI app with myapp.aio included; shut down after the test."""
    apps = []

    def make(setup=None, **settings):
        settings = {"aio.loop": loop_kind, **{k.replace("__", "."): v for k, v in settings.items()}}
        with Configurator(settings=settings) as config:
            config.include("myapp.aio")
            if setup is not None:
                setup(config)
        app = config.make_wsgi_app()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.registry.aio_runtime.shutdown()


def add(config, view, path, **kw):
    """Route ``path`` to ``view`` with a JSON renderer unless another is given."""
    name = path
    config.add_route(name, path)
    kw.setdefault("renderer", "json")
    config.add_view(view, route_name=name, **kw)
