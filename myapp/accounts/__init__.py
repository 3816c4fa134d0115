"""Accounts and security: users, sign-in, API keys, authorization.

Settings: ``session.*`` and ``auth.*`` (see AccountSettings and docs/).
"""

import asyncio
import datetime
import ipaddress

from pyramid.session import SignedCookieSessionFactory

from ..models import in_session
from ..services import find, provide
from ..settings import Field, NotConfigured, Section, Site
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
    return await service.authenticate(
        request.dbsession, find(registry, Passwords), find(registry, Throttle), email, password, client_address(request)
    )


async def count_signup(request):
    """Count a sign-up from this client; service.Throttled when it has made too many."""
    await find(request.registry, Throttle).attempt(request.dbsession, {"signup_address": client_address(request)})


class AccountSettings(Section):
    secret: str = Field("", alias="session.secret")
    max_age: int = Field(14 * 24 * 3600, alias="session.max_age", ge=60, description="seconds a sign-in lasts")
    argon2_time_cost: int = Field(3, alias="auth.argon2_time_cost", ge=1)
    argon2_memory_kib: int = Field(65536, alias="auth.argon2_memory_kib", ge=8)
    max_failures_per_email: int = Field(
        5, alias="auth.max_failures_per_email", ge=1, description="per account and client address, and per session"
    )
    max_failures_per_address: int = Field(20, alias="auth.max_failures_per_address", ge=1)
    failure_window_seconds: int = Field(900, alias="auth.failure_window_seconds", ge=1)
    max_failures_per_account: int = Field(
        100, alias="auth.max_failures_per_account", ge=1, description="from every address together"
    )
    account_window_seconds: int = Field(3600, alias="auth.account_window_seconds", ge=1)
    max_signups_per_address: int = Field(10, alias="auth.max_signups_per_address", ge=1)
    signup_window_seconds: int = Field(3600, alias="auth.signup_window_seconds", ge=1)
    max_api_keys_per_user: int = Field(50, alias="auth.max_api_keys_per_user", ge=0, description="0: no limit")


def session_lifetime(registry):
    return datetime.timedelta(seconds=find(registry, AccountSettings).max_age)


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
    registry = config.registry
    settings = find(registry, AccountSettings)
    if len(settings.secret) < 32:
        raise NotConfigured("set MYAPP_SESSION_SECRET (or session.secret) to a random string of at least 32 characters")
    lifetime = int(session_lifetime(registry).total_seconds())
    config.set_session_factory(
        SignedCookieSessionFactory(
            settings.secret,
            cookie_name="myapp_session",
            secure=find(registry, Site).session_secure,
            httponly=True,
            samesite="Lax",
            max_age=lifetime,
            timeout=lifetime,
        )
    )
    config.set_default_csrf_options(require_csrf=True, callback=csrf_applies)
    config.set_security_policy(SecurityPolicy())
    config.set_root_factory(Root)
    # Secure by default: a view that names no permission needs a signed-in user.
    config.set_default_permission("view")
    config.add_tween(
        "myapp.accounts.security.identity_tween_factory", under="myapp.models.unit_of_work.unit_of_work_tween_factory"
    )
    provide(registry, Passwords(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib))
    failures = datetime.timedelta(seconds=settings.failure_window_seconds)
    signups = datetime.timedelta(seconds=settings.signup_window_seconds)
    provide(
        registry,
        Throttle(
            {
                # the owner from another address still gets in (signin_pair); many addresses together meet the
                # slower ceiling of the account (signin_email); one address meets its own (signin_address)
                "signin_pair": Limit(settings.max_failures_per_email, failures),
                "signin_email": Limit(
                    settings.max_failures_per_account, datetime.timedelta(seconds=settings.account_window_seconds)
                ),
                "signin_address": Limit(settings.max_failures_per_address, failures),
                "password_change": Limit(settings.max_failures_per_email, failures),
                "signup_address": Limit(settings.max_signups_per_address, signups),
            }
        ),
    )
    config.add_background_task(make_pruner(find(registry, Throttle)), name="accounts.prune")
    config.scan(".api")
    config.scan(".pages")
