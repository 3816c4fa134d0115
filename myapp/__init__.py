from pyramid.config import Configurator

from .settings import from_environ


def main(global_config, **settings):
    """Return the Pyramid WSGI application."""
    with Configurator(settings=from_environ(settings)) as config:
        config.include("pyramid_jinja2")
        config.include("myapp.aio")
        config.include(".models")
        config.include(".accounts")
        config.include(".routes")
        config.scan(".views")
    return config.make_wsgi_app()
