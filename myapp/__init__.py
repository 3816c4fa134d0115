from pyramid.config import Configurator

from . import logs  # noqa: F401 (first: every log line gets a request id)
from .settings import from_environ


def main(global_config, **settings):
    """Return the Pyramid WSGI application."""
    settings = {**from_environ(settings), "myapp.ini_file": global_config.get("__file__", "")}
    with Configurator(settings=settings) as config:
        config.include(".logs")
        config.include(".templating")
        config.include("myapp.aio")
        config.include(".edge")
        config.include(".models")
        config.include(".accounts")
        config.include(".monitors")
        config.include(".alerts")
        config.include(".metrics")
        config.include(".api")
        config.include(".routes")
        config.scan(".views")
    return config.make_wsgi_app()
