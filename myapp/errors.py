"""Errors: JSON for the API (``{"error", "message", "fields"}``), pages for the browser.

Error views never trust the request: its path may not be UTF-8, its Host may be a
lie, its session may be gone.  They read the raw path and generate no absolute URL.
"""

import logging

from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken, PredicateMismatch
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPConflict,
    HTTPException,
    HTTPFound,
    HTTPInternalServerError,
    HTTPMethodNotAllowed,
    HTTPServiceUnavailable,
    HTTPUnauthorized,
)
from pyramid.security import Denied
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from sqlalchemy import exc as sa

from .accounts.service import TooMany
from .aio import ShuttingDown
from .logs import Tracebacks
from .models import conflicts
from .services import find
from .settings import Site

log = logging.getLogger(__name__)

RETRY_AFTER = "5"
#: MySQL's "table does not exist": the schema was never created
NO_SUCH_TABLE = 1146


tracebacks = Tracebacks()


def raw_path(request):
    """The path as sent, decoded leniently: an error view must not fail on bytes that are not UTF-8."""
    path = request.environ.get("SCRIPT_NAME", "") + request.environ.get("PATH_INFO", "")
    return path.encode("latin-1", "replace").decode("utf-8", "replace")


def wants_json(request):
    path = request.environ.get("PATH_INFO", "")
    return path == "/api" or path.startswith("/api/")


def error_slug(exc):
    return exc.title.lower().replace(" ", "_").replace("-", "_")


def render_error(exc, request, message, fields=None):
    request.response.status = exc.code
    for name in ("Allow", "Retry-After", "WWW-Authenticate"):
        if name in exc.headers:
            request.response.headers[name] = exc.headers[name]
    body = {
        "error": error_slug(exc),
        "message": message,
        "fields": fields or {},
        "request_id": request.__dict__.get("request_id"),
    }
    if wants_json(request):
        request.override_renderer = "json"
        return body
    return {**body, "status": exc.code, "title": exc.title}


class AllowedMethods(dict):
    """{route name: the methods its views answer, or None when one of them takes any method}, of every route."""

    @classmethod
    def of(cls, registry):
        table = cls()
        for item in registry.introspector.get_category("views") or ():
            view = item["introspectable"]
            name = view["route_name"]
            if name is None or name in table and table[name] is None:
                continue
            methods = view["request_methods"]
            if methods is None:
                table[name] = None
            else:
                methods = {methods} if isinstance(methods, str) else set(methods)
                if "GET" in methods:
                    methods.add("HEAD")  # Pyramid answers HEAD with the GET view
                table[name] = table.get(name, set()) | methods
        return table


def allowed_methods(registry, route_name):
    """The methods some view of ``route_name`` answers, or None when one of them takes any method."""
    return find(registry, AllowedMethods, lambda: AllowedMethods.of(registry)).get(route_name)


@notfound_view_config(renderer="myapp:templates/error.jinja2")
def not_found(exc, request):
    """404; or 405 with ``Allow`` when the route exists but takes other methods."""
    route = request.matched_route
    if isinstance(exc, PredicateMismatch) and route is not None:
        methods = allowed_methods(request.registry, route.name)
        if methods and request.method not in methods:
            allow = ", ".join(sorted(methods))
            error = HTTPMethodNotAllowed(headers={"Allow": allow})
            return render_error(error, request, f"{request.method} is not allowed here; use {allow}.")
    return render_error(exc, request, f"Nothing is at {raw_path(request)}.")


@forbidden_view_config(renderer="myapp:templates/error.jinja2")
def forbidden(exc, request):
    """Anonymous: 401 for the API (with a Bearer challenge), the sign-in page for a browser; else 403."""
    if request.identity is None:
        if wants_json(request):
            challenge = HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="myapp"'})
            return render_error(challenge, request, "Sign in, or send an API key as 'Authorization: Bearer <key>'.")
        return HTTPFound(request.route_path("login", _query={"next": request.path_qs}))
    # our own Denied says why (a read-scoped key); an ACL denial's details stay private
    message = exc.result.msg if type(exc.result) is Denied else "You may not do this."
    return render_error(exc, request, message)


@exception_view_config(BadCSRFToken, renderer="myapp:templates/error.jinja2")
@exception_view_config(BadCSRFOrigin, renderer="myapp:templates/error.jinja2")
def bad_csrf(exc, request):
    if find(request.registry, Site).session_secure and request.scheme != "https":
        message = (
            "This server only keeps sessions over HTTPS, and this page was sent over plain HTTP: "
            "open it with an https:// address."
        )
    elif wants_json(request):
        message = (
            "A request signed in with a cookie needs the page's CSRF token in the X-CSRF-Token header; "
            "scripts should use an API key instead."
        )
    else:
        message = "This form has expired or came from another site. Reload the page and try again."
    return render_error(exc, request, message)


@exception_view_config(UnicodeDecodeError, renderer="myapp:templates/error.jinja2")
def not_utf8(exc, request):
    """The path, the query string or a form is not UTF-8 (Pyramid's URLDecodeError included)."""
    return render_error(HTTPBadRequest(), request, "The request is not valid UTF-8 (its address, query or form).")


def database_error_kind(exc):
    """A short name for what went wrong: the driver's class and error number ("OperationalError 2003")."""
    orig = getattr(exc, "orig", None) or exc
    code = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
    return f"{type(orig).__name__} {code}" if code is not None else type(orig).__name__


def is_missing_schema(exc):
    orig = getattr(exc, "orig", None)
    if orig is None or not orig.args:
        return False
    return orig.args[0] == NO_SUCH_TABLE or "no such table" in str(orig.args[0])


@exception_view_config(sa.ProgrammingError, retryable_error=False, renderer="myapp:templates/error.jinja2")
@exception_view_config(sa.OperationalError, retryable_error=False, renderer="myapp:templates/error.jinja2")
@exception_view_config(sa.InterfaceError, retryable_error=False, renderer="myapp:templates/error.jinja2")
@exception_view_config(sa.TimeoutError, retryable_error=False, renderer="myapp:templates/error.jinja2")
@exception_view_config(sa.DisconnectionError, retryable_error=False, renderer="myapp:templates/error.jinja2")
def database_unavailable(exc, request):
    """503 with Retry-After: one log line per event, a traceback at most once a minute per kind."""
    if isinstance(exc, sa.ProgrammingError) and not is_missing_schema(exc):
        return server_error(exc, request)
    if conflicts.lost(exc):  # on each of its attempts (pyramid_retry): nothing is broken, others came first
        log.warning("%s %s lost to other transactions on each attempt", request.method, raw_path(request))
        return render_error(
            HTTPServiceUnavailable(headers={"Retry-After": "1"}),
            request,
            "Other changes to the same data kept coming first; nothing was changed. Try again.",
        )
    kind = database_error_kind(exc)
    orig = getattr(exc, "orig", None) or exc
    log.error(
        "database unavailable (%s) in %s %s: %s",
        kind,
        request.method,
        raw_path(request),
        str(orig).splitlines()[0][:200] if str(orig) else type(orig).__name__,
        exc_info=exc if tracebacks.due(kind) else None,
    )
    if is_missing_schema(exc):
        message = "The database has no schema yet: the operator must run initialize_myapp_db."
    else:
        message = "The database is not answering; try again in a few seconds."
    return render_error(HTTPServiceUnavailable(headers={"Retry-After": RETRY_AFTER}), request, message)


@exception_view_config(ShuttingDown, renderer="myapp:templates/error.jinja2")
def shutting_down(exc, request):
    return render_error(
        HTTPServiceUnavailable(headers={"Retry-After": RETRY_AFTER}),
        request,
        "The server is restarting; try again in a few seconds.",
    )


@exception_view_config(TooMany, renderer="myapp:templates/error.jinja2")
def too_many(exc, request):
    """A user's limit (monitors, channels, keys ...): 409, nothing was added."""
    return render_error(HTTPConflict(), request, str(exc))


@exception_view_config(HTTPException, renderer="myapp:templates/error.jinja2")
def http_error(exc, request):
    if exc.code < 400:  # redirects and other non-errors raised as exceptions pass through
        return exc
    return render_error(exc, request, exc.detail or exc.explanation, getattr(exc, "fields", None))


@exception_view_config(Exception, retryable_error=False, renderer="myapp:templates/error.jinja2")
def server_error(exc, request):
    log.exception("unhandled error in %s %s", request.method, raw_path(request))
    return render_error(HTTPInternalServerError(), request, "Something went wrong on our side; it has been logged.")
