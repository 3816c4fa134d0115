"""Accounts and security: users, sign-in, API keys, authorization.

Settings (see README.md): ``session.secret`` (or MYAPP_SESSION_SECRET),
``session.secure``, ``session.max_age``, ``auth.argon2_time_cost``,
``auth.argon2_memory_kib``, ``auth.max_failures_per_email``,
``auth.max_failures_per_address``, ``auth.failure_window_seconds``,
``auth.max_signups_per_address``, ``auth.signup_window_seconds``.
"""

import asyncio
import datetime
import ipaddress

from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool

from ..models import in_session
from ..settings import NotConfigured
from . import service
from .passwords import Passwords
from .security import Root, SecurityPolicy
from .service import Limit, Throttle

PRUNE_EVERY = 3600


def client_address(request):
    """The client's address as a throttling key.

    The WSGI server's REMOTE_ADDR (waitress puts a trusted proxy's X-Forwarded-For
    there; never the header itself, which any client can write).  IPv6 clients are
    keyed by their /64, which one client usually holds whole; a value that is not an
    IP address is one shared key, as if it were the proxy's own.
    """
    try:
        ip = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network((ip, 64), strict=False))
    return str(ip)


async def authenticate(request, email, password):
    """The user these credentials belong to, or None; a failure is counted, service.Throttled when over the limit."""
    registry = request.registry
    return await service.authenticate(request.dbsession, registry.passwords, registry.throttle,
                                      email, password, client_address(request))


async def count_signup(request):
    """Count a sign-up from this client; service.Throttled when it has made too many."""
    await request.registry.throttle.attempt(request.dbsession, {"signup_address": client_address(request)})


def session_lifetime(settings):
    return datetime.timedelta(seconds=int(settings.get("session.max_age", str(14 * 24 * 3600))))


def make_pruner(throttle):
    async def prune_accounts(state):
        """Expired sessions and old throttle hits go, once an hour."""
        while True:
            await asyncio.sleep(PRUNE_EVERY)

            async def prune(session):
                await service.prune_sessions(session)
                await throttle.prune(session)

            await in_session(state, prune)

    return prune_accounts


def csrf_applies(request):
    """Pyramid's CSRF check guards cookie-authenticated requests; a Bearer key is not ambient."""
    return "Authorization" not in request.headers


def includeme(config):
    settings = config.get_settings()
    secret = settings.get("session.secret", "").strip()
    if len(secret) < 32:
        raise NotConfigured("set MYAPP_SESSION_SECRET (or session.secret) to a random string of at least 32 characters")
    config.set_session_factory(SignedCookieSessionFactory(
        secret,
        cookie_name="myapp_session",
        secure=asbool(settings.get("session.secure", "false")),
        httponly=True,
        samesite="Lax",
        max_age=int(session_lifetime(settings).total_seconds()),
        timeout=int(session_lifetime(settings).total_seconds()),
    ))
    config.set_default_csrf_options(require_csrf=True, callback=csrf_applies)
    config.set_security_policy(SecurityPolicy())
    config.set_root_factory(Root)
    # Secure by default: a view that names no permission needs a signed-in user.
    config.set_default_permission("view")
    config.add_tween("myapp.accounts.security.identity_tween_factory",
                     under="myapp.models.unit_of_work.unit_of_work_tween_factory")
    config.registry.passwords = Passwords(
        time_cost=int(settings.get("auth.argon2_time_cost", "3")),
        memory_cost=int(settings.get("auth.argon2_memory_kib", "65536")),
    )
    failures = datetime.timedelta(seconds=int(settings.get("auth.failure_window_seconds", "900")))
    signups = datetime.timedelta(seconds=int(settings.get("auth.signup_window_seconds", "3600")))
    config.registry.throttle = Throttle({
        "signin_email": Limit(int(settings.get("auth.max_failures_per_email", "5")), failures),
        "signin_address": Limit(int(settings.get("auth.max_failures_per_address", "20")), failures),
        "signup_address": Limit(int(settings.get("auth.max_signups_per_address", "10")), signups),
    })
    config.add_background_task(make_pruner(config.registry.throttle), name="accounts.prune")
