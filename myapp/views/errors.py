"""Errors: JSON for the API (``{"error", "message", "fields"}``), pages for the browser."""

import logging

from pyramid.httpexceptions import HTTPException, HTTPFound, HTTPInternalServerError, HTTPUnauthorized
from pyramid.security import Denied
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

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


@forbidden_view_config(renderer="myapp:templates/error.jinja2")
def forbidden(exc, request):
    """Anonymous: 401 for the API (with a Bearer challenge), the sign-in page for a browser; else 403."""
    if request.identity is None:
        if wants_json(request):
            challenge = HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="myapp"'})
            return render_error(challenge, request, "Sign in, or send an API key as 'Authorization: Bearer <key>'.")
        return HTTPFound(request.route_url("login", _query={"next": request.path_qs}))
    # our own Denied says why (a read-scoped key); an ACL denial's details stay private
    message = exc.result.msg if type(exc.result) is Denied else "You may not do this."
    return render_error(exc, request, message)


@exception_view_config(HTTPException, renderer="myapp:templates/error.jinja2")
def http_error(exc, request):
    if exc.code < 400:  # redirects and other non-errors raised as exceptions pass through
        return exc
    return render_error(exc, request, exc.detail or exc.explanation, getattr(exc, "fields", None))


@exception_view_config(Exception, renderer="myapp:templates/error.jinja2")
def server_error(exc, request):
    log.exception("unhandled error in %s %s", request.method, request.path)
    return render_error(HTTPInternalServerError(), request, "Something went wrong on our side; it has been logged.")
