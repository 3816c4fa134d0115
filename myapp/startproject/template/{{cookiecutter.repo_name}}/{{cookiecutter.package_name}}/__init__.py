"""{{ cookiecutter.project_name }}: a Pyramid application whose views may be ``async def``.

``aio`` (the adapter, copied from myapp.aio when this project was made) runs each async view
on its worker thread's own event loop, which lives as long as the process, with the
database's pool on it.  main() only includes and scans.
"""

import os

from pyramid.config import Configurator

#: the database URL from the environment wins over the ini (production secrets stay out of files)
DATABASE_URL_VARIABLE = "{{ cookiecutter.package_name.upper() }}_DATABASE_URL"


def main(global_config, **settings):
    """The WSGI application, for pserve and for the tests."""
{%- if cookiecutter.database == "sqlalchemy" %}
    url_setting = "sqlalchemy.url"
{%- else %}
    url_setting = "database.url"
{%- endif %}
    settings.setdefault("jinja2.directories", "{{ cookiecutter.package_name }}:templates")
    if os.environ.get(DATABASE_URL_VARIABLE):
        settings[url_setting] = os.environ[DATABASE_URL_VARIABLE]
    with Configurator(settings=settings) as config:
        config.include("pyramid_jinja2")
        config.include(".aio")
{%- if cookiecutter.database == "sqlalchemy" %}
        config.include(".models")
{%- else %}
        config.include(".db")
{%- endif %}
{%- if cookiecutter.background_task == "yes" %}
        config.include(".tasks")
{%- endif %}
        config.include(".routes")
        config.scan(".views")
    return config.make_wsgi_app()
