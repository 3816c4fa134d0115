"""Browser pages: sign up, sign in, sign out, and the account (profile, password, API keys)."""

from pyramid.csrf import new_csrf_token
from pyramid.httpexceptions import HTTPFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..models import User
from ..services import find
from . import AccountSettings, authenticate, count_signup, schema, service, session_lifetime
from .passwords import Passwords
from .schema import NewKey, PasswordChange, Profile, SignIn, SignUp
from .service import Throttle


async def sign_in(request, user):
    """A fresh session for the signed-in user: nothing from before survives, the CSRF token is new."""
    token = await service.start_session(request.dbsession, user.id, session_lifetime(request.registry))
    request.session.invalidate()
    request.session["sid"] = token
    new_csrf_token(request)


def throttled(request, page, exc):
    request.response.status = 429
    request.response.headers["Retry-After"] = str(exc.retry_after)
    page["message"] = f"Too many attempts from here. Try again in {exc.retry_after} seconds."
    return page


NEXT_MAX = 2000


def safe_next(request, default):
    """``next`` when it is a path of this site, else ``default``: never another host, never a header break."""
    target = request.params.get("next", "")
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > NEXT_MAX
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return default
    return target


def form(request, model):
    """(clean values, errors) for a posted form; the password fields are never echoed back."""
    data, errors = schema.form({name: request.POST.get(name) for name in model.model_fields}, model)
    return (data.model_dump() if data else None), errors


@view_config(
    route_name="signup",
    request_method="GET",
    renderer="myapp:accounts/templates/accounts/signup.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
def signup_page(request):
    return {"values": {}, "errors": {}, "message": None}


@view_config(
    route_name="signup",
    request_method="POST",
    renderer="myapp:accounts/templates/accounts/signup.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
async def signup(request):
    values = {"email": request.POST.get("email", ""), "display_name": request.POST.get("display_name", "")}
    page = {"values": values, "errors": {}, "message": None}
    data, page["errors"] = form(request, SignUp)
    if not data:
        request.response.status = 422
        return page
    try:
        await count_signup(request)
        user = await service.create_user(
            request.dbsession, find(request.registry, Passwords), data["email"], data["display_name"], data["password"]
        )
    except service.Throttled as exc:
        return throttled(request, page, exc)
    except service.EmailTaken:
        request.response.status = 409
        page["errors"] = {"email": "this address already has an account; sign in instead"}
        return page
    await sign_in(request, user)
    return HTTPFound(request.route_url("monitors"))  # the first-run page says what to do next


@view_config(
    route_name="login",
    request_method="GET",
    renderer="myapp:accounts/templates/accounts/login.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
def login_page(request):
    return {"values": {}, "errors": {}, "message": None, "next": safe_next(request, "")}


@view_config(
    route_name="login",
    request_method="POST",
    renderer="myapp:accounts/templates/accounts/login.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
async def login(request):
    values = {"email": request.POST.get("email", "")}
    page = {"values": values, "errors": {}, "message": None, "next": safe_next(request, "")}
    data, page["errors"] = form(request, SignIn)
    if not data:
        request.response.status = 422
        return page
    try:
        user = await authenticate(request, data["email"], data["password"])
    except service.Throttled as exc:
        return throttled(request, page, exc)
    if user is None:
        request.response.status = 401  # returned, not raised: the failure stays counted
        page["message"] = "The email or password is wrong."
        return page
    await sign_in(request, user)
    return HTTPFound(safe_next(request, request.route_url("monitors")))


@view_config(route_name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
async def logout(request):
    """The session ends on the server: its cookie, replayed, is anonymous."""
    token = request.session.get("sid")
    if token:
        await service.end_session(request.dbsession, token)
    request.session.invalidate()
    return HTTPFound(request.route_url("home"))


@view_config(route_name="account.sessions.end", request_method="POST", permission="edit")
async def sign_out_everywhere(request):
    await service.end_sessions(request.dbsession, request.context.owner_id)
    request.session.invalidate()
    return HTTPFound(request.route_url("login"))


async def account_page(request, **extra):
    session = request.dbsession
    user = await session.get(User, request.context.owner_id)
    keys = await service.active_keys(session, user.id)
    page = {
        "user": user_view(user),
        "keys": [key_view(k) for k in keys],
        "errors": {},
        "new_token": None,
        "message": None,
        "sessions": await service.count_sessions(session, user.id),
    }
    page.update(extra)
    return page


def user_view(user):
    return {"email": user.email, "display_name": user.display_name, "role": user.role, "created_at": user.created_at}


def key_view(key):
    return {"id": key.id, "name": key.name, "scope": key.scope, "prefix": key.prefix, "created_at": key.created_at}


@view_config(
    route_name="account",
    request_method="GET",
    renderer="myapp:accounts/templates/accounts/account.jinja2",
    permission="view",
)
async def account(request):
    new = request.session.pop_flash("new_key")
    if new:
        request.response.cache_control = "no-store"  # the token is not kept in the browser's history
    return await account_page(request, new_token=new[0] if new else None)


@view_config(
    route_name="account",
    request_method="POST",
    renderer="myapp:accounts/templates/accounts/account.jinja2",
    permission="edit",
)
async def update_account(request):
    session = request.dbsession
    user = await session.get(User, request.context.owner_id)
    if request.POST.get("form") == "password":
        data, errors = form(request, PasswordChange)
        if data:
            try:
                changed = await service.change_password(
                    session,
                    find(request.registry, Passwords),
                    find(request.registry, Throttle),
                    user,
                    data["current_password"],
                    data["new_password"],
                    keep_session=request.session.get("sid"),
                )
            except service.Throttled as exc:
                request.response.status = 429
                errors = {"current_password": f"too many wrong passwords; try again in {exc.retry_after} seconds"}
                return await account_page(request, errors=errors)
            if not changed:
                errors = {"current_password": "this is not your current password"}
            else:
                message = "Your password is changed. Other sessions are signed out."
                if request.POST.get("revoke_keys"):
                    revoked = await service.revoke_api_keys(session, user.id)
                    message += f" Your API keys are revoked ({revoked})."
                return await account_page(request, message=message)
    else:
        data, errors = form(request, Profile)
        if data:
            user.display_name = data["display_name"]
            await session.flush()
            return await account_page(request, message="Your name is saved.")
    request.response.status = 422
    return await account_page(request, errors=errors)


@view_config(
    route_name="account.keys",
    request_method="POST",
    renderer="myapp:accounts/templates/accounts/account.jinja2",
    permission="edit",
)
async def create_key(request):
    data, errors = form(request, NewKey)
    if not data:
        request.response.status = 422
        return await account_page(request, errors=errors)
    try:
        key, token = await service.create_api_key(
            request.dbsession,
            request.context.owner_id,
            data["scope"],
            data.get("name", ""),
            find(request.registry, AccountSettings).max_api_keys_per_user,
        )
    except service.TooMany as exc:
        request.response.status = 409
        return await account_page(request, errors={"name": str(exc)})
    # Redirected after the POST (a reload must not make a second key): the token rides in the
    # session for that one GET, which takes it out and shows it; it is stored hashed, never shown again.
    request.session.flash({"token": token, "name": key.name, "scope": key.scope}, "new_key")
    return HTTPFound(request.route_url("account"))


@view_config(route_name="account.key.revoke", request_method="POST", permission="delete")
async def revoke_key(request):
    await service.revoke_api_key(request.dbsession, request.context.key)
    return HTTPFound(request.route_url("account"))
