"""Accounts and security: users, sign-in, API keys, authorization.

Settings (see README.md): ``session.secret`` (or MYAPP_SESSION_SECRET),
``session.secure``, ``session.max_age``, ``auth.argon2_time_cost``,
``auth.argon2_memory_kib``, ``auth.max_failures_per_email``,
``auth.max_failures_per_address``, ``auth.failure_window_seconds``.
"""

from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool

from . import service
from .passwords import Passwords
from .security import Root, SecurityPolicy
from .service import Throttle


async def authenticate(request, email, password):
    """The user these credentials belong to, or None; a failure is recorded, service.Throttled when over the limit."""
    registry = request.registry
    return await service.authenticate(request.dbsession, registry.passwords, registry.login_throttle,
                                      email, password, request.client_addr or "")


def csrf_applies(request):
    """Pyramid's CSRF check guards cookie-authenticated requests; a Bearer key is not ambient."""
    return "Authorization" not in request.headers


def includeme(config):
    settings = config.get_settings()
    secret = settings.get("session.secret", "").strip()
    if len(secret) < 32:
        raise ValueError("set session.secret (or MYAPP_SESSION_SECRET) to a random string of at least 32 characters")
    config.set_session_factory(SignedCookieSessionFactory(
        secret,
        cookie_name="myapp_session",
        secure=asbool(settings.get("session.secure", "false")),
        httponly=True,
        samesite="Lax",
        max_age=int(settings.get("session.max_age", str(14 * 24 * 3600))),
        timeout=int(settings.get("session.max_age", str(14 * 24 * 3600))),
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
    config.registry.login_throttle = Throttle(
        per_email=int(settings.get("auth.max_failures_per_email", "5")),
        per_address=int(settings.get("auth.max_failures_per_address", "20")),
        window_seconds=int(settings.get("auth.failure_window_seconds", "900")),
    )
