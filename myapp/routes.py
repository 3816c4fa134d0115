from pyramid.security import NO_PERMISSION_REQUIRED

from .accounts.security import Account, ApiKeyResource, Users


def includeme(config):
    config.add_static_view("static", "myapp:static", cache_max_age=3600, permission=NO_PERMISSION_REQUIRED)
    config.add_route("home", "/")

    # browser pages
    config.add_route("signup", "/signup")
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("account", "/account", factory=Account)
    config.add_route("account.keys", "/account/keys", factory=Account)
    config.add_route("account.key.revoke", "/account/keys/{key_id}/revoke", factory=ApiKeyResource)

    # JSON API
    config.add_route("api.health", "/api/health")
    config.add_route("api.tokens", "/api/tokens", factory=Account)
    config.add_route("api.token", "/api/tokens/{key_id}", factory=ApiKeyResource)
    config.add_route("api.users.me", "/api/users/me", factory=Account)
    config.add_route("api.users", "/api/users", factory=Users)
