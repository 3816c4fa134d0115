"""What a client sends can be wrong in every way; the answer is a 4xx in the usual shape, never a 500."""

import pytest

from .conftest import PASSWORD, csrf_token


def assert_json_error(res, status):
    assert res.status_int == status, res.text[:300]
    assert res.content_type == "application/json"
    assert set(res.json) == {"error", "message", "fields", "request_id"} and res.json["message"]


def assert_page_error(res, status):
    assert res.status_int == status, res.text[:300]
    assert res.content_type == "text/html"
    assert f"{status} &middot;" in res.text


def test_json_nested_too_deep(testapp):
    body = "[" * 30_000 + "]" * 30_000
    res = testapp.post("/api/tokens", body, content_type="application/json", expect_errors=True)
    assert_json_error(res, 400)
    body = '{"email": ' + '{"a": ' * 9_000 + "1" + "}" * 9_000 + "}"
    assert_json_error(testapp.post("/api/tokens", body, content_type="application/json", expect_errors=True), 400)


def test_yaml_nested_too_deep_stops_where_the_bound_is(testapp, make_user, make_key):
    """PyYAML's scanner takes time in the square of the depth of ``[``: 4 KiB of them took a second.  The
    parser stops at the bound, before it (validation.MAX_YAML_DEPTH)."""
    from myapp import validation

    auth = {"Authorization": f"Bearer {make_key(make_user('ada@example.com'), 'write')[1]}"}
    seen = []
    loader = validation._PlainYaml

    class Watched(loader):
        def fetch_flow_collection_start(self, token_class):
            seen.append(self.flow_level)
            super().fetch_flow_collection_start(token_class)

    validation._PlainYaml = Watched
    try:
        for body in ("monitors: " + "[" * 40_000, "monitors:\n" + "- " * 5_000 + "x", "monitors: " + "{a: " * 5000):
            res = testapp.post("/api/apply", body, content_type="application/yaml", headers=auth, expect_errors=True)
            assert_json_error(res, 400)
            assert res.json["message"] == "The body is nested too deeply (at most 32 levels).", res.json
    finally:
        validation._PlainYaml = loader
    assert max(seen) == validation.MAX_YAML_DEPTH  # and not a level further


@pytest.mark.parametrize("field", ["password", "name", "scope"])
def test_lone_surrogate_in_a_json_string(testapp, make_user, field):
    make_user("ada@example.com")
    values = {"email": "ada@example.com", "password": PASSWORD, "scope": "read", "name": "laptop"}
    values[field] = "\\ud800x"
    body = "{" + ", ".join(f'"{k}": "{v}"' for k, v in values.items()) + "}"
    res = testapp.post("/api/tokens", body, content_type="application/json", expect_errors=True)
    assert_json_error(res, 400)


def test_lone_surrogate_in_a_key_name(testapp):
    body = '{"email": "ada@example.com", "password": "x", "scope": "read", "\\udfff": 1}'
    assert_json_error(testapp.post("/api/tokens", body, content_type="application/json", expect_errors=True), 400)


def test_invalid_utf8_in_a_query_string(testapp, make_user, make_key):
    _, token = make_key(make_user("root@example.com", role="admin"), "read")
    res = testapp.get("/api/users?email=%FF", headers={"Authorization": f"Bearer {token}"}, expect_errors=True)
    assert_json_error(res, 400)
    assert_page_error(testapp.get("/login?next=%FF", expect_errors=True), 400)


@pytest.mark.parametrize("path", ["/api/%FF", "/api/tokens/%FF", "/%FF", "/static/%FF%FE"])
def test_invalid_utf8_in_a_path(testapp, path):
    res = testapp.get(path, expect_errors=True)
    if path.startswith("/api/"):
        assert_json_error(res, 400)
    else:
        assert_page_error(res, 400)


def test_invalid_utf8_in_a_form(browser, make_user):
    make_user("ada@example.com")
    client = browser("ada@example.com")
    headers = {"X-CSRF-Token": csrf_token(client, "/account")}
    for body in ("form=profile&display_name=%FF", "form=profile&display_name=%ED%A0%80"):
        # WebOb decodes forms leniently (U+FFFD for bytes that are not UTF-8): what is stored is text
        res = client.post(
            "/account", body, content_type="application/x-www-form-urlencoded", headers=headers, expect_errors=True
        )
        assert res.status_int == 200, res.text[:300]
        shown = client.get("/account").html.find("input", {"name": "display_name"})["value"]
        assert set(shown) == {"\ufffd"}, shown  # stored as text, the bytes replaced


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=zz"]
)
def test_signup_as_broken_multipart(browser, content_type):
    client = browser()
    token = csrf_token(client, "/signup")
    for body in (b"x", b'--zz\r\nContent-Disposition: form-data; name="email"\r\n\r\nno end', b""):
        res = client.request(
            "/signup",
            method="POST",
            body=body,
            content_type=content_type,
            headers={"X-CSRF-Token": token},
            expect_errors=True,
        )
        # no boundary: the body cannot be read (400); a boundary no part matches: a form without its fields (422)
        assert res.status_int == (422 if content_type.endswith("=zz") else 400), res.text[:300]
        assert res.content_type == "text/html"


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
@pytest.mark.parametrize("path", ["/signup", "/login"])
def test_broken_multipart_without_a_token_in_a_header(browser, path, content_type):
    # the CSRF check reads the token from the form, which cannot be parsed: 400, not a 500
    client = browser()
    for body in (b"x", b""):
        # TestApp.request, not .post: post() would write a boundary of its own into a multipart type
        res = client.request(path, method="POST", body=body, content_type=content_type, expect_errors=True)
        assert_page_error(res, 400)


@pytest.mark.parametrize(
    "target", ["/account\r\nSet-Cookie: planted=1", "/account\nLocation: //evil.example", "/\x00", "/account\x7f"]
)
def test_control_characters_in_next(browser, make_user, target):
    make_user("ada@example.com")
    client = browser()
    res = client.post(
        "/login",
        {"email": "ada@example.com", "password": PASSWORD, "next": target, "csrf_token": csrf_token(client)},
        expect_errors=True,
    )
    assert res.status_int == 302, res.text[:300]
    assert res.location.endswith("/monitors") and "planted" not in str(res.headers)
    res = client.get("/login", {"next": target})
    assert res.status_int == 200 and "planted" not in res.text


@pytest.mark.parametrize("value", ["99999999999999999999999", "9223372036854775808", "-1", "0", "1e3", " 1"])
def test_ids_and_cursors_out_of_range(testapp, make_user, make_key, value):
    _, token = make_key(make_user("root@example.com", role="admin"), "write")
    headers = {"Authorization": f"Bearer {token}"}
    assert_json_error(testapp.delete(f"/api/tokens/{value}", headers=headers, expect_errors=True), 404)
    res = testapp.get("/api/users", {"cursor": value}, headers=headers, expect_errors=True)
    if value == "0":
        assert res.status_int == 200  # a cursor below every id is simply the first page
    else:
        assert_json_error(res, 422)
        assert set(res.json["fields"]) == {"cursor"}


def test_revoke_page_with_an_id_out_of_range(browser, make_user):
    make_user("ada@example.com")
    client = browser("ada@example.com")
    res = client.post(
        "/account/keys/99999999999999999999999/revoke",
        {"csrf_token": csrf_token(client, "/account")},
        expect_errors=True,
    )
    assert_page_error(res, 404)


@pytest.mark.parametrize(
    "method,path,allow",
    [
        ("PUT", "/api/tokens", {"GET", "HEAD", "POST"}),
        ("PATCH", "/api/users/me", {"GET", "HEAD"}),
        ("POST", "/api/health", {"GET", "HEAD"}),
        ("DELETE", "/signup", {"GET", "HEAD", "POST"}),
        ("GET", "/logout", {"POST"}),
    ],
)
def test_wrong_method_is_405_with_allow(testapp, method, path, allow):
    res = testapp.request(path, method=method, expect_errors=True)
    if path.startswith("/api/"):
        assert_json_error(res, 405)
    else:
        assert_page_error(res, 405)
    assert set(res.headers["Allow"].replace(" ", "").split(",")) == allow


def test_unknown_route_is_still_404(testapp):
    assert_json_error(testapp.put("/api/nothing-here", expect_errors=True), 404)


def test_csrf_failure_over_plain_http_says_why(make_myapp):
    client = make_myapp(**{"session.secure": "true"})
    page = client.get("/signup")
    token = page.html.find("input", {"name": "csrf_token"})["value"]
    # a browser drops a Secure cookie over http://, so the session (and its token) is lost
    client.reset()
    res = client.post(
        "/signup",
        {"email": "ada@example.com", "display_name": "Ada", "password": PASSWORD, "csrf_token": token},
        expect_errors=True,
    )
    assert_page_error(res, 400)
    assert "only keeps sessions over HTTPS" in res.text
    assert "check_csrf_token" not in res.text


def test_csrf_failure_says_what_to_do(browser):
    client = browser()
    res = client.post(
        "/signup",
        {"email": "ada@example.com", "display_name": "Ada", "password": PASSWORD, "csrf_token": "forged"},
        expect_errors=True,
    )
    assert_page_error(res, 400)
    assert "check_csrf_token" not in res.text and "reload" in res.text.lower()
    res = browser().post_json("/api/tokens/1", {}, expect_errors=True)
    assert "check_csrf_token" not in res.text


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\r", "\x1b"])
def test_line_breaks_in_names_are_refused(testapp, make_user, make_key, separator):
    """A name goes into e-mail headers, pages and logs on one line: a separator is refused at the door."""
    auth = {"Authorization": f"Bearer {make_key(make_user('ada@example.com'), 'write')[1]}"}
    for path, body in (
        ("/api/monitors", {"name": f"shop{separator}Bcc: x@evil.example", "url": "http://127.0.0.1/"}),
        ("/api/channels", {"name": f"ops{separator}x", "kind": "webhook", "target": "http://127.0.0.1/hook"}),
    ):
        res = testapp.post_json(path, body, headers=auth, expect_errors=True)
        assert_json_error(res, 422)
        assert "name" in res.json["fields"]
        assert testapp.get(path, headers=auth).json[path.rsplit("/", 1)[1]] == []
