"""What every request passes at the edge: the Host it names must be ours, and every
response carries the headers that keep a browser safe.

Settings:

- ``myapp.public_url``: the address people use (``https://status.example.com``);
  its host is allowed, and every URL the app makes is built from it, never from the Host
  a request names (links in mails and pages, ping URLs, redirects, Location headers).
- ``myapp.allowed_hosts``: more host names to answer for (space or comma separated,
  ports ignored); ``*`` answers for any.  Without either setting: localhost only.
- ``myapp.csp``: the Content-Security-Policy (default: our own files only, no inline script).
- ``session.secure``: HTTPS deployments also get Strict-Transport-Security.
"""

import logging
import re
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.tweens import EXCVIEW, INGRESS, MAIN

from .services import find
from .settings import Field, NotConfigured, Section, Site, Words

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
DEBUG_TOOLBAR = "/_debug_toolbar/"
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


#: what a Host header may be: a name or IPv4 address, or an IPv6 address in brackets, and a port
HOST = re.compile(r"(?:\[(?P<ip6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::[0-9]{1,5})?")


def host_name(host):
    """The lower-cased name in a Host header, without port, brackets or a final dot; "" when the header is
    not host[:port] (``127.0.0.1:7100@evil.example`` is not a host with a port, whatever it starts with)."""
    match = HOST.fullmatch(host.strip().lower())
    if match is None:
        return ""
    return match["ip6"] or match["name"].rstrip(".")


class EdgeSettings(Section):
    allowed_hosts: Words = Field((), alias="myapp.allowed_hosts")
    csp: str = Field(DEFAULT_CSP, alias="myapp.csp")


def allowed_hosts(registry):
    """The set of host names to answer for, or None for any."""
    names = list(find(registry, EdgeSettings).allowed_hosts)
    if "*" in names:
        return None
    public_url = find(registry, Site).public_url
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotConfigured(f"myapp.public_url must be an http(s) URL, not {public_url!r}")
        names.append(parts.hostname)
    return {host_name(n) for n in names} or set(LOCAL_HOSTS)


def allowed_host_tween_factory(handler, registry):
    """400 for a Host (or a trusted proxy's X-Forwarded-Host) that is not ours: no URL is ever built from it."""
    hosts = allowed_hosts(registry)
    if hosts is None:
        return handler

    def allowed_host_tween(request):
        host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "")
        if host_name(host) not in hosts:
            log.warning("refused a request for the host %r: add it to myapp.allowed_hosts if it is ours", host[:100])
            raise HTTPBadRequest("This server does not answer for that host name.")
        return handler(request)

    return allowed_host_tween


def public_location_tween_factory(handler, registry):
    """With ``myapp.public_url``, a Location that is a path (a redirect to a page, from a view or an exception
    view) is made absolute from it: WebOb would make it so from the Host the request named."""
    public_url = find(registry, Site).public_url
    if not public_url:
        return handler
    base = public_url.rstrip("/")

    def public_location_tween(request):
        response = handler(request)
        location = response.headers.get("Location")
        if location and location.startswith("/") and not location.startswith("//"):
            response.headers["Location"] = base + location
        return response

    return public_location_tween


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def form_tween_factory(handler, registry):
    """400 for a form that cannot be parsed (a multipart body without a boundary, ...).

    The form is parsed here once, where a ValueError can only mean the client's bytes;
    views and the CSRF check then read the parsed copy.
    """

    def form_tween(request):
        if request.method in ("POST", "PUT", "PATCH") and request.content_type in FORM_TYPES:
            try:
                request.POST  # noqa: B018 (parsed here, once)
            except ValueError as exc:
                raise HTTPBadRequest(f"The form could not be read: {str(exc)[:100]}.") from None
        return handler(request)

    return form_tween


def security_headers_tween_factory(handler, registry):
    headers = [
        ("Content-Security-Policy", find(registry, EdgeSettings).csp),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
    ]
    if find(registry, Site).session_secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000"))

    def security_headers_tween(request):
        response = handler(request)
        if request.environ.get("PATH_INFO", "").startswith(DEBUG_TOOLBAR):
            return response  # the development toolbar's own pages use inline script and frames
        present = response.headers
        response.headerlist.extend(h for h in headers if h[0] not in present)
        return response

    return security_headers_tween


def includeme(config):
    allowed_hosts(config.registry)  # a bad public_url fails at start, not on the first request
    public_url = find(config.registry, Site).public_url
    if public_url:  # route_url, static_url and the ping URL start here, whatever Host a request names
        base = public_url.rstrip("/")
        config.add_request_method(lambda request: base, "application_url", property=True)
    config.add_tween("myapp.edge.security_headers_tween_factory", under=INGRESS)
    config.add_tween("myapp.edge.public_location_tween_factory", under="myapp.edge.security_headers_tween_factory")
    # right under the exception views (so the 400 is a page), before anything reads the database
    config.add_tween(
        "myapp.edge.allowed_host_tween_factory",
        under=EXCVIEW,
        over=("myapp.models.unit_of_work.unit_of_work_tween_factory", MAIN),
    )
    config.add_tween(
        "myapp.edge.form_tween_factory",
        under="myapp.edge.allowed_host_tween_factory",
        over=("myapp.models.unit_of_work.unit_of_work_tween_factory", MAIN),
    )
