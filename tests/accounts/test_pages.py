"""Sign-up, sign-in, the account page, CSRF and sessions, in the browser flow (WebTest)."""

from ..conftest import PASSWORD, csrf_token


def cookie_attributes(res):
    header = next(v for k, v in res.headerlist if k == "Set-Cookie" and v.startswith("myapp_session="))
    return {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}


def signup(client, email="ada@example.com", name="Ada", password=PASSWORD, status=302):
    return client.post(
        "/signup",
        {"email": email, "display_name": name, "password": password, "csrf_token": csrf_token(client, "/signup")},
        status=status,
    )


def test_signup_signs_in_with_a_safe_cookie(browser):
    client = browser()
    res = signup(client, email="Ada@Example.COM")
    assert res.location.endswith("/monitors")
    attributes = cookie_attributes(res)
    assert "httponly" in attributes and attributes["samesite"] == "SameSite=Lax" and "secure" not in attributes
    page = client.get("/account")
    assert "ada@example.com" in page.text and "Ada" in page.html.find("nav").text


def test_secure_cookie_when_configured(make_myapp):
    client = make_myapp(**{"session.secure": "true"})
    assert "secure" in cookie_attributes(client.get("/signup"))


def test_signup_rejects_bad_input_and_keeps_nothing(browser, testapp):
    client = browser()
    res = signup(client, email="nope", name=" ", password="short", status=422)
    errors = {p["id"].removesuffix("-error") for p in res.html.find_all("p", class_="error")}
    assert errors == {"email", "display_name", "password"}
    assert 'value="nope"' in res.text and "short" not in res.text  # passwords are never echoed
    signup(client)
    res = signup(browser(), email="ADA@example.com", status=409)
    assert "already has an account" in res.text


def test_csrf_is_required_on_every_unsafe_browser_request(browser, make_user, make_key, testapp):
    key_id, token = make_key(make_user("ada@example.com"), "read")
    client = browser()
    client.post("/login", {"email": "ada@example.com", "password": PASSWORD}, status=400)
    client.post(
        "/signup",
        {"email": "x@example.com", "display_name": "X", "password": PASSWORD, "csrf_token": "forged"},
        status=400,
    )
    signed_in = browser("ada@example.com")
    res = signed_in.post("/account", {"form": "profile", "display_name": "Mallory"}, status=400)
    assert "400" in res.text
    signed_in.post("/account/keys", {"scope": "write"}, status=400)
    signed_in.post("/logout", status=400)
    assert "Mallory" not in signed_in.get("/account").text  # nothing changed
    # through the JSON API too, when the cookie is what authenticates
    res = signed_in.delete(f"/api/tokens/{key_id}", status=400)
    assert res.json["error"] == "bad_request"
    testapp.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}, status=200)  # not revoked


def test_sign_in_starts_a_fresh_session(browser, make_user):
    make_user("ada@example.com")
    client = browser()
    before = csrf_token(client)
    res = client.post("/login", {"email": "ada@example.com", "password": PASSWORD, "csrf_token": before}, status=302)
    assert res.location.endswith("/monitors")
    after = csrf_token(client, "/account")
    assert after != before  # a new session, with a new CSRF token
    # whatever the anonymous session held, its token included, is gone
    client.post("/account", {"form": "profile", "display_name": "Planted", "csrf_token": before}, status=400)
    client.post("/account", {"form": "profile", "display_name": "Mine", "csrf_token": after}, status=200)


def test_wrong_password_then_throttled(browser, make_user):
    make_user("ada@example.com")
    client = browser()
    for _ in range(5):
        res = client.post(
            "/login",
            {"email": "ada@example.com", "password": "wrong-wrong-wrong", "csrf_token": csrf_token(client)},
            status=401,
        )
        assert "wrong" in res.text
    res = client.post(
        "/login", {"email": "ada@example.com", "password": PASSWORD, "csrf_token": csrf_token(client)}, status=429
    )
    assert "Try again in" in res.text and int(res.headers["Retry-After"]) > 0


def test_login_redirects_only_inside_the_site(browser, make_user):
    make_user("ada@example.com")
    client = browser()
    res = client.get("/account", status=302)
    assert "/login?next=%2Faccount" in res.location
    for target, expected in (
        ("/account?tab=keys", "/account?tab=keys"),
        ("//evil.example", "/monitors"),
        ("https://evil.example", "/monitors"),
    ):
        client = browser()
        res = client.post(
            "/login",
            {"email": "ada@example.com", "password": PASSWORD, "next": target, "csrf_token": csrf_token(client)},
            status=302,
        )
        assert res.location.endswith(expected) and "evil" not in res.location


def test_change_name_and_password_ends_other_sessions(browser, make_user):
    make_user("ada@example.com")
    here, elsewhere = browser("ada@example.com"), browser("ada@example.com")
    res = here.post(
        "/account", {"form": "profile", "display_name": "  Ada   Lovelace ", "csrf_token": csrf_token(here, "/account")}
    )
    assert "Your name is saved." in res.text and "Ada Lovelace" in res.text
    res = here.post(
        "/account",
        {
            "form": "password",
            "current_password": "not it at all",
            "new_password": "a brand new password",
            "csrf_token": csrf_token(here, "/account"),
        },
        status=422,
    )
    assert "not your current password" in res.text
    res = here.post(
        "/account",
        {
            "form": "password",
            "current_password": PASSWORD,
            "new_password": "a brand new password",
            "csrf_token": csrf_token(here, "/account"),
        },
    )
    assert "Other sessions are signed out." in res.text
    here.get("/account", status=200)  # this one stays signed in
    elsewhere.get("/account", status=302)  # the other was signed out
    browser("ada@example.com", password="a brand new password").get("/account", status=200)


def test_guessing_the_current_password_is_throttled(browser, make_user):
    """A stolen session cannot try passwords on the change form: five wrong ones, then 429 for a while."""
    make_user("ada@example.com")
    client = browser("ada@example.com")

    def change(current, status):
        form = {"form": "password", "current_password": current, "new_password": "a brand new password"}
        return client.post("/account", {**form, "csrf_token": csrf_token(client, "/account")}, status=status)

    for n in range(5):
        change(f"guess number {n}", 422)
    res = change(PASSWORD, 429)  # even the right one, until the window has passed
    assert "too many wrong passwords; try again in" in res.text
    browser("ada@example.com").get("/account", status=200)  # the password is unchanged


def test_api_key_from_the_account_page(browser, make_user, testapp):
    make_user("ada@example.com")
    client = browser("ada@example.com")
    res = client.post("/account/keys", {"name": "ci", "scope": "read", "csrf_token": csrf_token(client, "/account")})
    assert res.status_int == 302 and res.location.endswith("/account")  # a reload then does not post again
    res = res.follow()
    assert res.headers["Cache-Control"] == "no-store"
    token = res.html.find("code", id="new-token").text
    headers = {"Authorization": f"Bearer {token}"}
    assert testapp.get("/api/users/me", headers=headers).json["email"] == "ada@example.com"
    page = client.get("/account")  # the reload
    assert token not in page.text and token[:12] in page.text  # only the prefix is shown again
    assert len(page.html.select("form[action*='/revoke']")) == 1  # one key: the reload made none
    form = page.forms[next(i for i, f in page.forms.items() if "revoke" in f.action)]
    form.submit(status=302)
    testapp.get("/api/users/me", headers=headers, status=401)


def test_logout(browser, make_user):
    make_user("ada@example.com")
    client = browser("ada@example.com")
    page = client.get("/account")
    form = page.forms[next(i for i, f in page.forms.items() if f.action.endswith("/logout"))]
    form.submit(status=302)
    client.get("/account", status=302)
