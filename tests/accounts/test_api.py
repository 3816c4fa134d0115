"""The accounts JSON API, on SQLite and MariaDB."""

import pytest

from ..conftest import PASSWORD, acting_as


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def new_token(testapp, email, scope="write", name=None, password=PASSWORD, status=201):
    body = {"email": email, "password": password, "scope": scope, **({"name": name} if name else {})}
    return testapp.post_json("/api/tokens", body, status=status)


def test_token_lifecycle(testapp, make_user):
    make_user("ada@example.com")
    res = new_token(testapp, "Ada@Example.com", name="laptop")  # addresses are case-insensitive
    token = res.json["token"]
    assert res.json["scope"] == "write" and res.json["name"] == "laptop" and token.startswith(res.json["prefix"])

    me = testapp.get("/api/users/me", headers=bearer(token)).json
    assert me["email"] == "ada@example.com" and me["role"] == "user"
    assert me["created_at"].endswith("Z")

    listed = testapp.get("/api/tokens", headers=bearer(token)).json["tokens"]
    assert [k["id"] for k in listed] == [res.json["id"]]
    assert "token" not in listed[0] and token not in str(listed)  # the secret is never shown again

    testapp.delete(f"/api/tokens/{res.json['id']}", headers=bearer(token), status=204)
    # revocation takes effect at once, for the very key that was revoked
    res = testapp.get("/api/users/me", headers=bearer(token), status=401)
    assert res.headers["WWW-Authenticate"].startswith("Bearer")
    assert res.json["error"] == "unauthorized"


def test_wrong_and_unknown_credentials_look_the_same(testapp, make_user):
    make_user("ada@example.com")
    wrong = new_token(testapp, "ada@example.com", password="not the password", status=401)
    unknown = new_token(testapp, "nobody@example.com", status=401)
    bodies = [wrong.json, unknown.json]
    assert [body.pop("request_id") for body in bodies] == [
        wrong.headers["X-Request-ID"],
        unknown.headers["X-Request-ID"],
    ]
    assert (
        bodies[0] == bodies[1] == {"error": "unauthorized", "message": "The email or password is wrong.", "fields": {}}
    )


def test_failed_sign_ins_are_throttled(testapp, make_user):
    make_user("ada@example.com")
    for _ in range(5):
        new_token(testapp, "ada@example.com", password="guess-guess-guess", status=401)
    res = new_token(testapp, "ada@example.com", status=429)  # even the right password, for now
    assert int(res.headers["Retry-After"]) > 0
    assert res.json["error"] == "too_many_requests"
    make_user("bob@example.com")
    new_token(testapp, "bob@example.com")  # another address is not affected


def test_bad_token_requests(testapp, make_user):
    make_user("ada@example.com")
    res = testapp.post_json(
        "/api/tokens", {"email": "ada@example.com", "password": PASSWORD, "scope": "write", "admin": True}, status=422
    )
    assert res.json["fields"] == {"admin": "unknown field"}
    res = testapp.post_json("/api/tokens", {"email": "not-an-email", "password": "", "scope": "all"}, status=422)
    assert set(res.json["fields"]) == {"email", "password", "scope"}
    res = testapp.post_json("/api/tokens", {}, status=422)
    assert res.json["fields"] == {"email": "required", "password": "required", "scope": "required"}
    assert testapp.post("/api/tokens", "{not json", content_type="application/json", status=400).json["error"]
    assert (
        testapp.post_json("/api/tokens", ["a", "list"], status=400).json["message"] == "The body must be a JSON object."
    )
    assert testapp.post("/api/tokens", {"email": "x"}, status=400).json["error"] == "bad_request"  # a form, not JSON
    big = {"email": "ada@example.com", "password": "x" * 70_000, "scope": "read"}
    assert testapp.post_json("/api/tokens", big, status=413).json["error"] == "request_entity_too_large"


def test_malformed_authorization_is_anonymous(testapp):
    for header in ("Bearer", "Basic abc", "Bearer nonsense", "Bearer myapp_forged"):
        testapp.get("/api/users/me", headers={"Authorization": header}, status=401)


def test_admin_lists_users_page_by_page(testapp, make_user, make_key):
    admin = make_user("root@example.com", role="admin")
    for n in range(5):
        make_user(f"user{n}@example.com")
    _, token = make_key(admin, "read")
    first = testapp.get("/api/users", {"limit": 2}, headers=bearer(token)).json
    assert [u["email"] for u in first["users"]] == ["root@example.com", "user0@example.com"]
    seen = [u["email"] for u in first["users"]]
    cursor = first["next_cursor"]
    while cursor:
        page = testapp.get("/api/users", {"limit": 2, "cursor": cursor}, headers=bearer(token)).json
        seen += [u["email"] for u in page["users"]]
        cursor = page["next_cursor"]
    assert seen == ["root@example.com"] + [f"user{n}@example.com" for n in range(5)]
    found = testapp.get("/api/users", {"email": "USER3"}, headers=bearer(token)).json
    assert [u["email"] for u in found["users"]] == ["user3@example.com"] and found["next_cursor"] is None
    # wildcards in the filter are literal
    assert testapp.get("/api/users", {"email": "%"}, headers=bearer(token)).json["users"] == []
    res = testapp.get("/api/users", {"limit": 0, "cursor": "x", "sort": "name"}, headers=bearer(token), status=422)
    assert set(res.json["fields"]) == {"limit", "cursor", "sort"}


@pytest.fixture
def world(testapp, make_user, make_key, browser):
    """Users A, B and an admin, their keys, a browser signed in as each, and one key of A's under attack."""
    a, b, admin = make_user("a@example.com"), make_user("b@example.com"), make_user("admin@example.com", "admin")
    keys = {
        "a-read": make_key(a, "read"),
        "a-write": make_key(a, "write"),
        "b-write": make_key(b, "write"),
        "admin-write": make_key(admin, "write"),
    }
    browsers = {
        "anonymous": browser(),
        "a": browser("a@example.com"),
        "b": browser("b@example.com"),
        "admin": browser("admin@example.com"),
    }
    return {"keys": keys, "browsers": browsers, "victim": make_key(a, "read")}


ACTORS = ["anonymous", "a", "b", "admin", "a-read", "a-write", "b-write", "admin-write"]
# what each actor gets; {key} is A's key under attack
MATRIX = {
    ("GET", "/api/users/me"): [401, 200, 200, 200, 200, 200, 200, 200],
    ("GET", "/api/tokens"): [401, 200, 200, 200, 200, 200, 200, 200],
    ("GET", "/api/users"): [401, 403, 403, 200, 403, 403, 403, 200],
    ("DELETE", "/api/tokens/{key}"): [401, 204, 403, 403, 403, 204, 403, 403],
    ("GET", "/account"): [302, 200, 200, 200, 200, 200, 200, 200],
    ("POST", "/account"): [302, 200, 200, 200, 403, 200, 200, 200],
    ("POST", "/account/keys"): [302, 302, 302, 302, 403, 302, 302, 302],
    ("POST", "/account/keys/{key}/revoke"): [302, 302, 403, 403, 403, 302, 403, 403],
}
CASES = [(method, path, actor, status) for (method, path), row in MATRIX.items() for actor, status in zip(ACTORS, row)]


# who may do what is decided by the resource tree and its ACLs, the same whichever database holds the rows
@pytest.mark.one_backend
@pytest.mark.parametrize("method,path,actor,status", CASES, ids=[f"{m} {p} as {a}" for m, p, a, _ in CASES])
def test_authorization_matrix(world, testapp, method, path, actor, status):
    victim_id, victim_token = world["victim"]
    client, headers = acting_as(world, actor, method)
    params = {"form": "profile", "display_name": "Renamed", "scope": "read"} if method == "POST" else ""
    send = getattr(client, method.lower())
    res = send(path.format(key=victim_id), params, headers=headers, expect_errors=True)
    assert res.status_int == status, res.text[:300]
    if res.status_int >= 400 and path.startswith("/api"):
        assert res.json["error"] in ("unauthorized", "forbidden")
    # A's key survives everyone but A
    revoked = "{key}" in path and method != "GET" and actor in ("a", "a-write")
    alive = testapp.get("/api/users/me", headers=bearer(victim_token), expect_errors=True).status_int
    assert alive == (401 if revoked else 200)
