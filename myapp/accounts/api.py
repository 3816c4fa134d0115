"""JSON API: API keys (/api/tokens) and users (/api/users)."""

from pyramid.httpexceptions import HTTPNoContent, HTTPTooManyRequests
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..api.contract import created, page_of
from ..services import find
from ..text import iso
from ..validation import Error
from . import AccountSettings, authenticate, service
from .schema import KeyList, NewApiKey, TokenRequest, User, UserPage, UserQuery


def user_json(user):
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }


def key_json(key):
    return {"id": key.id, "name": key.name, "scope": key.scope, "prefix": key.prefix, "created_at": iso(key.created_at)}


@view_config(
    route_name="api.tokens",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
    body=TokenRequest,
    responses={201: NewApiKey, 401: Error, 409: Error, 429: Error},
)
async def create_token(request):
    """Email and password in, a new API key out (its secret shown this once)."""
    data = request.api_body
    try:
        user = await authenticate(request, data.email, data.password)
    except service.Throttled as exc:
        error = HTTPTooManyRequests(f"Too many failed sign-ins. Try again in {exc.retry_after} seconds.")
        error.headers["Retry-After"] = str(exc.retry_after)
        raise error from None
    if user is None:
        # returned, not raised: the failure is recorded and committed for throttling
        request.response.status = 401
        return {
            "error": "unauthorized",
            "message": "The email or password is wrong.",
            "fields": {},
            "request_id": request.request_id,
        }
    key, token = await service.create_api_key(
        request.dbsession, user.id, data.scope, data.name, find(request.registry, AccountSettings).max_api_keys_per_user
    )
    created(request, "api.token", key_id=key.id)
    return {**key_json(key), "token": token}


@view_config(
    route_name="api.tokens", request_method="GET", renderer="json", permission="view", responses={200: KeyList}
)
async def list_tokens(request):
    """The caller's API keys that are not revoked (their secrets are never shown again)."""
    keys = await service.active_keys(request.dbsession, request.context.owner_id)
    return {"tokens": [key_json(k) for k in keys]}


@view_config(route_name="api.token", request_method="DELETE", permission="delete", responses={204: None})
async def revoke_token(request):
    """Revoke one of the caller's API keys: it stops working at once."""
    await service.revoke_api_key(request.dbsession, request.context.key)
    return HTTPNoContent()


@view_config(route_name="api.users.me", request_method="GET", renderer="json", permission="view", responses={200: User})
def me(request):
    """The caller (read with the identity: no query of its own)."""
    return user_json(request.identity)


@view_config(
    route_name="api.users",
    request_method="GET",
    renderer="json",
    permission="list_users",
    query=UserQuery,
    responses={200: UserPage},
)
async def list_users(request):
    """Every user, by id (admins only); ``email`` finds one."""
    query = request.api_query
    users, next_cursor = await service.list_users(request.dbsession, query.limit, query.cursor, query.email or None)
    return page_of("users", [user_json(u) for u in users], next_cursor)
