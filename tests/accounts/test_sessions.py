"""Sessions live on the server: signing out ends them for good, everywhere if asked."""

import datetime

from sqlalchemy import update

from myapp.models import WebSession

from ..conftest import PASSWORD, csrf_token, in_app


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def cookie_of(client):
    return {c.name: c.value for c in client.cookiejar}["myapp_session"]


def replay(testapp, cookie, path="/api/users/me", **kw):
    return testapp.get(path, headers={"Cookie": f"myapp_session={cookie}"}, expect_errors=True, **kw)


def test_sign_out_ends_the_session_on_the_server(browser, make_user, testapp):
    make_user("ada@example.com")
    client = browser("ada@example.com")
    stolen = cookie_of(client)
    token = csrf_token(client, "/account")
    assert replay(testapp, stolen).status_int == 200
    client.post("/logout", {"csrf_token": token}, status=302)
    res = replay(testapp, stolen)
    assert res.status_int == 401
    assert replay(testapp, stolen, "/account").status_int == 302
    # nor can the old cookie post a form with its CSRF token
    res = testapp.post(
        "/account",
        {"form": "profile", "display_name": "Mallory", "csrf_token": token},
        headers={"Cookie": f"myapp_session={stolen}"},
        expect_errors=True,
    )
    assert res.status_int in (302, 400)
    assert "Mallory" not in browser("ada@example.com").get("/account").text


def test_sign_out_everywhere(browser, make_user, testapp):
    make_user("ada@example.com")
    laptop, phone = browser("ada@example.com"), browser("ada@example.com")
    page = laptop.get("/account")
    assert "signed in 2 times" in page.text or "2 sessions" in page.text
    phone_cookie = cookie_of(phone)
    laptop.post("/account/sessions/end", {"csrf_token": csrf_token(laptop, "/account")}, status=302)
    laptop.get("/account", status=302)
    phone.get("/account", status=302)
    assert replay(testapp, phone_cookie).status_int == 401
    browser("ada@example.com").get("/account", status=200)  # signing in again works


def test_password_change_can_revoke_api_keys(browser, make_user, make_key, testapp):
    user = make_user("ada@example.com")
    _, kept = make_key(user, "read")
    client = browser("ada@example.com")
    client.post(
        "/account",
        {
            "form": "password",
            "current_password": PASSWORD,
            "new_password": "second password!!",
            "csrf_token": csrf_token(client, "/account"),
        },
        status=200,
    )
    testapp.get("/api/users/me", headers=bearer(kept), status=200)  # not asked: the key stays
    res = client.post(
        "/account",
        {
            "form": "password",
            "current_password": "second password!!",
            "new_password": "third password!!",
            "revoke_keys": "on",
            "csrf_token": csrf_token(client, "/account"),
        },
        status=200,
    )
    assert "API keys are revoked" in res.text
    testapp.get("/api/users/me", headers=bearer(kept), status=401)
    client.get("/account", status=200)  # this session stays signed in


def test_an_expired_session_is_over(browser, make_user, testapp, app):
    make_user("ada@example.com")
    client = browser("ada@example.com")

    async def expire(session):
        await session.execute(update(WebSession).values(expires_at=datetime.datetime(2000, 1, 1)))

    in_app(app, expire)
    client.get("/account", status=302)
    assert replay(testapp, cookie_of(client)).status_int == 401
