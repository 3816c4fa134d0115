"""Errors: JSON for the API (``{"error", "message", "fields"}``), pages for the browser."""

import logging

from pyramid.httpexceptions import HTTPException, HTTPInternalServerError
from pyramid.view import exception_view_config, notfound_view_config

log = logging.getLogger(__name__)


def wants_json(request):
    return request.path == "/api" or request.path.startswith("/api/")


def error_slug(exc):
    return exc.title.lower().replace(" ", "_").replace("-", "_")


def render_error(exc, request, message, fields=None):
    request.response.status = exc.code
    for name in ("Allow", "Retry-After", "WWW-Authenticate"):
        if name in exc.headers:
            request.response.headers[name] = exc.headers[name]
    body = {"error": error_slug(exc), "message": message, "fields": fields or {}}
    if wants_json(request):
        request.override_renderer = "json"
        return body
    return {**body, "status": exc.code, "title": exc.title}


@notfound_view_config(renderer="myapp:templates/error.jinja2")
def not_found(exc, request):
    return render_error(exc, request, f"Nothing is at {request.path}.")


@exception_view_config(HTTPException, renderer="myapp:templates/error.jinja2")
def http_error(exc, request):
    if exc.code < 400:  # redirects and other non-errors raised as exceptions pass through
        return exc
    return render_error(exc, request, exc.detail or exc.explanation, getattr(exc, "fields", None))


@exception_view_config(Exception, renderer="myapp:templates/error.jinja2")
def server_error(exc, request):
    log.exception("unhandled error in %s %s", request.method, request.path)
    return render_error(HTTPInternalServerError(), request, "Something went wrong on our side; it has been logged.")
