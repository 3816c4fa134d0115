"""The home page: an ``async def`` view that reads the database, rendered with Jinja2; error pages."""

import logging

from pyramid.httpexceptions import HTTPException
from pyramid.view import exception_view_config, notfound_view_config, view_config
{% if cookiecutter.database == "sqlalchemy" %}
from sqlalchemy import select

from ..models import Note
{%- else %}
from ..db import query
{%- endif %}


@view_config(route_name="home", renderer="{{ cookiecutter.package_name }}:templates/home.jinja2")
async def home(request):
{%- if cookiecutter.database == "sqlalchemy" %}
    rows = await request.dbsession.execute(select(Note.text, Note.created_at).order_by(Note.id.desc()).limit(20))
{%- else %}
    rows = await query(request, "SELECT text, created_at FROM notes ORDER BY id DESC LIMIT 20")
{%- endif %}
    return {"project": "{{ cookiecutter.project_name }}", "notes": [{"text": t, "at": at} for t, at in rows]}


log = logging.getLogger(__name__)


@notfound_view_config(renderer="{{ cookiecutter.package_name }}:templates/error.jinja2")
def not_found(exc, request):
    request.response.status = 404
    return {"title": "Not found", "message": "Nothing is at this address."}


@exception_view_config(Exception, renderer="{{ cookiecutter.package_name }}:templates/error.jinja2")
def server_error(exc, request):
    if isinstance(exc, HTTPException):  # redirects, 403, ...: Pyramid's own response
        return exc
    log.exception("unhandled error in %s %s", request.method, request.path_info)
    request.response.status = 500
    return {"title": "Server error", "message": "Something went wrong on our side; it has been logged."}
