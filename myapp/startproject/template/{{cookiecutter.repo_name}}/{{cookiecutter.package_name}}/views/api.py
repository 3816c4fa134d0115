"""The JSON API: ``async def`` views that read and write the database."""

import datetime
import logging

from pyramid.httpexceptions import HTTPException
from pyramid.view import exception_view_config, notfound_view_config, view_config
{% if cookiecutter.database == "sqlalchemy" %}
from sqlalchemy import insert, select

from ..models import Note
{%- else %}
from ..db import execute, query
{%- endif %}

MAX_TEXT = 500

log = logging.getLogger(__name__)


def note(id_, text, at):
    return {"id": id_, "text": text, "created_at": at.isoformat(timespec="seconds") + "Z"}


@view_config(route_name="api.notes", request_method="GET", renderer="json")
async def list_notes(request):
{%- if cookiecutter.database == "sqlalchemy" %}
    rows = await request.dbsession.execute(
        select(Note.id, Note.text, Note.created_at).order_by(Note.id.desc()).limit(100))
{%- else %}
    rows = await query(request, "SELECT id, text, created_at FROM notes ORDER BY id DESC LIMIT 100")
{%- endif %}
    return {"notes": [note(*row) for row in rows]}


@view_config(route_name="api.notes", request_method="POST", renderer="json")
async def add_note(request):
    try:
        body = request.json_body
    except ValueError:
        return error(request, 400, 'The body must be JSON: {"text": "..."}.')
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT or not encodable(text):
        return error(request, 422, f"text must be a string of 1 to {MAX_TEXT} characters.")
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
{%- if cookiecutter.database == "sqlalchemy" %}
    result = await request.dbsession.execute(insert(Note).values(text=text.strip(), created_at=now))
    new_id = result.inserted_primary_key[0]
{%- else %}
    new_id = await execute(request, "INSERT INTO notes (text, created_at) VALUES (%s, %s)", (text.strip(), now))
{%- endif %}
    request.response.status = 201
    return note(new_id, text.strip(), now)


def encodable(text):
    """False for text that holds lone surrogates ("\\ud800"): valid JSON, but no database stores it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def error(request, status, message):
    request.response.status = status
    return {"error": message}


@notfound_view_config(path_info="^/api/", renderer="json")
@exception_view_config(HTTPException, path_info="^/api/", renderer="json")
def api_error(exc, request):
    return error(request, exc.code, exc.title)


@exception_view_config(Exception, path_info="^/api/", renderer="json")
def api_server_error(exc, request):
    if isinstance(exc, HTTPException):
        return api_error(exc, request)
    log.exception("unhandled error in %s %s", request.method, request.path_info)
    return error(request, 500, "Something went wrong on our side; it has been logged.")
