import gc

from pyramid.config import Configurator
from pyramid.settings import asbool

from . import logs  # noqa: F401 (first: every log line gets a request id)
from .aio import DEFAULTS as AIO_SETTINGS
from .settings import check_names, from_environ, known_names

#: what is read besides the areas' sections: here, and by the adapter (which has its own defaults)
READ_HERE = {"myapp.gc_freeze", "myapp.ini_file", *AIO_SETTINGS}

#: the areas, each a subpackage with its own includeme (it includes the areas it needs itself)
AREAS = ("accounts", "monitors", "maintenance", "status_pages", "alerts", "manifest", "ops")


def main(global_config, **settings):
    """Return the Pyramid WSGI application."""
    settings = {**from_environ(settings), "myapp.ini_file": global_config.get("__file__", "")}
    with Configurator(settings=settings) as config:
        config.include(".logs")
        config.include(".templating")
        config.include("myapp.aio")
        config.include(".edge")
        config.include(".models")
        config.include(".api")
        for area in AREAS:
            config.include(f".{area}")
        config.include(".routes")
        config.scan(".errors")
    check_names(settings, known_names() | READ_HERE)
    app = config.make_wsgi_app()
    # What configuration made lives as long as the process: out of the collector's sight, a full collection
    # no longer walks it (a 60-120 ms pause of every thread at each one, measured: docs/benchmarks.md)
    if asbool(settings.get("myapp.gc_freeze", True)):  # testing.ini: off (a test run makes many apps)
        gc.collect()
        gc.freeze()
    return app
