"""Browser pages: sign up, sign in, sign out, and the account (profile, password, API keys)."""

from pyramid.csrf import new_csrf_token
from pyramid.httpexceptions import HTTPFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..accounts import authenticate, service, validation
from ..accounts.validation import Invalid
from ..models import User


def sign_in(request, user):
    """A fresh session for the signed-in user: nothing from before survives, the CSRF token is new."""
    request.session.invalidate()
    request.session["user_id"] = user.id
    request.session["epoch"] = user.session_epoch
    new_csrf_token(request)


def safe_next(request, default):
    target = request.params.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


def form(request, schema):
    """(clean values, errors) for a posted form; the password fields are never echoed back."""
    data = {name: request.POST.get(name) for name in schema}
    try:
        return validation.check(data, schema), {}
    except Invalid as exc:
        return None, exc.fields


SIGNUP = {
    "email": (True, validation.email),
    "display_name": (True, validation.display_name),
    "password": (True, validation.password),
}
LOGIN = {"email": (True, validation.email), "password": (True, validation.any_password)}
PROFILE = {"display_name": (True, validation.display_name)}
PASSWORD = {"current_password": (True, validation.any_password), "new_password": (True, validation.password)}
NEW_KEY = {"name": (False, validation.key_name), "scope": (True, validation.scope)}


@view_config(route_name="signup", request_method="GET", renderer="myapp:templates/signup.jinja2",
             permission=NO_PERMISSION_REQUIRED)
def signup_page(request):
    return {"values": {}, "errors": {}}


@view_config(route_name="signup", request_method="POST", renderer="myapp:templates/signup.jinja2",
             permission=NO_PERMISSION_REQUIRED)
async def signup(request):
    values = {"email": request.POST.get("email", ""), "display_name": request.POST.get("display_name", "")}
    data, errors = form(request, SIGNUP)
    if not data:
        request.response.status = 422
        return {"values": values, "errors": errors}
    try:
        user = await service.create_user(request.dbsession, request.registry.passwords,
                                         data["email"], data["display_name"], data["password"])
    except service.EmailTaken:
        request.response.status = 409
        return {"values": values, "errors": {"email": "this address already has an account; sign in instead"}}
    sign_in(request, user)
    return HTTPFound(request.route_url("account"))


@view_config(route_name="login", request_method="GET", renderer="myapp:templates/login.jinja2",
             permission=NO_PERMISSION_REQUIRED)
def login_page(request):
    return {"values": {}, "errors": {}, "message": None, "next": safe_next(request, "")}


@view_config(route_name="login", request_method="POST", renderer="myapp:templates/login.jinja2",
             permission=NO_PERMISSION_REQUIRED)
async def login(request):
    values = {"email": request.POST.get("email", "")}
    page = {"values": values, "errors": {}, "message": None, "next": safe_next(request, "")}
    data, page["errors"] = form(request, LOGIN)
    if not data:
        request.response.status = 422
        return page
    try:
        user = await authenticate(request, data["email"], data["password"])
    except service.Throttled as exc:
        request.response.status = 429
        request.response.headers["Retry-After"] = str(exc.retry_after)
        page["message"] = f"Too many failed sign-ins. Try again in {exc.retry_after} seconds."
        return page
    if user is None:
        request.response.status = 401  # returned, not raised: the failure is committed for throttling
        page["message"] = "The email or password is wrong."
        return page
    sign_in(request, user)
    return HTTPFound(safe_next(request, request.route_url("account")))


@view_config(route_name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
def logout(request):
    request.session.invalidate()
    return HTTPFound(request.route_url("home"))


async def account_page(request, **extra):
    user = await request.dbsession.get(User, request.context.owner_id)
    keys = await service.active_keys(request.dbsession, user.id)
    page = {"user": user_view(user), "keys": [key_view(k) for k in keys], "errors": {}, "new_token": None,
            "message": None}
    page.update(extra)
    return page


def user_view(user):
    return {"email": user.email, "display_name": user.display_name, "role": user.role, "created_at": user.created_at}


def key_view(key):
    return {"id": key.id, "name": key.name, "scope": key.scope, "prefix": key.prefix, "created_at": key.created_at}


@view_config(route_name="account", request_method="GET", renderer="myapp:templates/account.jinja2", permission="view")
async def account(request):
    return await account_page(request)


@view_config(route_name="account", request_method="POST", renderer="myapp:templates/account.jinja2",
             permission="edit")
async def update_account(request):
    session = request.dbsession
    user = await session.get(User, request.context.owner_id)
    if request.POST.get("form") == "password":
        data, errors = form(request, PASSWORD)
        if data:
            matches, _ = await request.registry.passwords.verify(user.password_hash, data["current_password"])
            if not matches:
                errors = {"current_password": "this is not your current password"}
            else:
                await service.set_password(session, request.registry.passwords, user, data["new_password"])
                request.session["epoch"] = user.session_epoch  # this session stays signed in; others end
                return await account_page(request, message="Your password is changed. Other sessions are signed out.")
    else:
        data, errors = form(request, PROFILE)
        if data:
            user.display_name = data["display_name"]
            await session.flush()
            return await account_page(request, message="Your name is saved.")
    request.response.status = 422
    return await account_page(request, errors=errors)


@view_config(route_name="account.keys", request_method="POST", renderer="myapp:templates/account.jinja2",
             permission="edit")
async def create_key(request):
    data, errors = form(request, NEW_KEY)
    if not data:
        request.response.status = 422
        return await account_page(request, errors=errors)
    key, token = await service.create_api_key(request.dbsession, request.context.owner_id, data["scope"],
                                              data.get("name", ""))
    # shown in this response only: it is stored hashed and never shown again
    return await account_page(request, new_token={"token": token, "name": key.name, "scope": key.scope})


@view_config(route_name="account.key.revoke", request_method="POST", permission="delete")
async def revoke_key(request):
    await service.revoke_api_key(request.dbsession, request.context.key)
    return HTTPFound(request.route_url("account"))
