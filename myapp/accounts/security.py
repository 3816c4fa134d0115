"""Who is asking, and what they may do.

The identity comes from the session cookie (browser) or ``Authorization: Bearer``
(API key), found with one database lookup per request, in a tween, before the
view's coroutine runs.  Authorization is Pyramid ACLs: a resource belongs to its
owner alone unless it says otherwise (OwnedResource), a read-scoped key can never
change anything, and admins may list users.
"""

import dataclasses
import datetime

from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, ACLHelper, Allow, Authenticated, Everyone
from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import RequestLocalCache
from pyramid.security import Denied

from ..models.account import ApiKey
from . import service

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclasses.dataclass(frozen=True)
class Identity:
    """Plain data about the caller, read in one statement: templates and views never need the database for it."""

    user_id: int
    email: str
    display_name: str
    role: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    scope: str = "write"  # a session may do whatever its user may; a key only what its scope allows

    @property
    def id(self):
        """The user's id: an identity reads as the user it is (accounts.api.user_json)."""
        return self.user_id

    @property
    def principals(self):
        return [Authenticated, f"user:{self.user_id}", f"role:{self.role}"]


def has_credentials(request):
    """An API key or a signed-in session's cookie: the identity needs the database only then."""
    return "Authorization" in request.headers or "sid" in request.session


async def load_identity(request):
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        found = await service.user_for_token(request.dbsession, token.strip())
        return Identity(*found) if found else None
    token = request.session.get("sid")
    if token is None:
        return None
    found = await service.user_for_session(request.dbsession, token)
    if found is None:
        request.session.invalidate()  # signed out (here or everywhere), expired, or the user is gone
        return None
    return Identity(*found)


class SecurityPolicy:
    def __init__(self):
        self._identity = RequestLocalCache(
            lambda request: request.run_async(load_identity(request)) if has_credentials(request) else None
        )

    def identity(self, request):
        return self._identity.get_or_create(request)

    def authenticated_userid(self, request):
        identity = self.identity(request)
        return identity.user_id if identity else None

    def permits(self, request, context, permission):
        identity = self.identity(request)
        # Changes come only through unsafe methods (a GET view never writes), whatever the permission.
        if identity is not None and identity.scope == "read" and request.method not in SAFE_METHODS:
            return Denied("a read-scoped API key cannot change anything")
        principals = [Everyone, *(identity.principals if identity else ())]
        return ACLHelper().permits(context, principals, permission)

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        request.session.invalidate()
        return []


#: paths whose views resolve the identity themselves, or never need it
IDENTITY_DEFERRED = ("/static/", "/api/health", "/status/", "/metrics")


def identity_tween_factory(handler, registry):
    """Resolve the identity before any view (and so before any coroutine) runs.

    Not for static files, nor for the health check, which must answer within its
    own short deadline whatever the database does, nor for public status pages, which
    are the same for everyone (and cached as such), nor for /metrics, whose bearer is
    the metrics token, not an API key.
    """

    def identity_tween(request):
        if not request.environ.get("PATH_INFO", "").startswith(IDENTITY_DEFERRED):
            request.identity  # noqa: B018 (computed and cached for the request)
        return handler(request)

    return identity_tween


# -- resources -------------------------------------------------------------------


class Root:
    """The default context: signed-in users may view (routes that need more name their own resource)."""

    __acl__ = [(Allow, Authenticated, "view"), DENY_ALL]

    def __init__(self, request):
        self.request = request


class OwnedResource:
    """Owner-only: the default for every resource that belongs to a user."""

    owner_id = None

    def __acl__(self):
        return [(Allow, f"user:{self.owner_id}", ALL_PERMISSIONS), DENY_ALL]


class OwnedRow(OwnedResource):
    """One row of ``model``, by the id in the URL's ``key``, kept as ``self.<name>``: its owner's alone.

    Subclasses say which: ``model``, ``key``, ``name`` and ``missing`` (the 404's message).
    """

    model = key = name = missing = None

    def __init__(self, request):
        row = request.run_async(request.dbsession.get(self.model, int(request.matchdict[self.key])))
        if row is None:
            raise HTTPNotFound(self.missing)
        setattr(self, self.name, row)
        self.owner_id = row.user_id

    @property
    def row(self):
        """The row, whatever it is called (``self.<name>``)."""
        return getattr(self, self.name)


class Account(OwnedResource):
    """The caller's own account (pages under /account, /api/users/me, /api/tokens)."""

    def __init__(self, request):
        identity = request.identity
        self.owner_id = identity.user_id if identity else None


class ApiKeyResource(OwnedResource):
    """One API key, looked up by the ``key_id`` in the URL."""

    def __init__(self, request):
        key = request.run_async(request.dbsession.get(ApiKey, int(request.matchdict["key_id"])))
        if key is None or key.revoked_at is not None:
            raise HTTPNotFound("No such API key.")
        self.key = key
        self.owner_id = key.user_id


class Users:
    """The list of all users: admins only."""

    __acl__ = [(Allow, "role:admin", "list_users"), DENY_ALL]

    def __init__(self, request):
        pass
