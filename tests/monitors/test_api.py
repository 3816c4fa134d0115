"""The monitors API: create, read, change, delete, list, history; owner-only; errors in the usual shape."""

import json

import pytest
from sqlalchemy import select

from myapp.models import Monitor

from ..conftest import acting_as
from .conftest import new_monitor, run_sql


@pytest.fixture
def api(testapp, owner):
    return testapp, owner[1]


def test_create_fills_defaults_and_read_only_fields(api, target):
    client, auth = api
    monitor = new_monitor(client, auth, url=target.url + "/ok", tags=["prod", "prod", "web"])
    assert {
        k: monitor[k]
        for k in (
            "method",
            "interval",
            "timeout",
            "expect_status",
            "tls_days",
            "failures_to_down",
            "successes_to_up",
            "paused",
            "headers",
            "body",
            "keyword",
        )
    } == {
        "method": "GET",
        "interval": 30,
        "timeout": 10,
        "expect_status": "200-399",
        "tls_days": 14,
        "failures_to_down": 2,
        "successes_to_up": 1,
        "paused": False,
        "headers": None,
        "body": None,
        "keyword": None,
    }
    assert monitor["tags"] == ["prod", "web"]
    assert monitor["state"] == "PENDING" and monitor["last_check"] is None
    assert monitor["uptime"] == {"24h": None, "7d": None, "30d": None}
    assert monitor["created_at"].endswith("Z") and monitor["state_since"].endswith("Z")
    assert client.get(f"/api/monitors/{monitor['id']}", headers=auth).json == monitor


def test_new_monitors_are_spread_over_their_first_interval(api, app, target):
    client, auth = api
    ids = [new_monitor(client, auth, url=target.url + "/ok", interval=600)["id"] for _ in range(12)]
    rows = run_sql(app, select(Monitor.due_at, Monitor.created_at))
    offsets = sorted((due - created).total_seconds() for due, created in rows)
    assert len(ids) == 12 and all(0 <= o <= 600 for o in offsets)
    assert offsets[-1] - offsets[0] > 60  # not all at once


@pytest.mark.parametrize(
    "body,fields",
    [
        ({}, {"name": "required", "url": "required"}),
        ({"name": "x" * 101, "url": "https://example.com"}, {"name"}),
        ({"name": "n", "url": "ftp://example.com"}, {"url"}),
        ({"name": "n", "url": "https://example.com", "interval": 0}, {"interval"}),
        ({"name": "n", "url": "https://example.com", "interval": 86401}, {"interval"}),
        ({"name": "n", "url": "https://example.com", "interval": "60"}, {"interval"}),
        ({"name": "n", "url": "https://example.com", "interval": 30, "timeout": 31}, {"timeout"}),
        ({"name": "n", "url": "https://example.com", "timeout": 61, "interval": 120}, {"timeout"}),
        ({"name": "n", "url": "https://example.com", "method": "DELETE"}, {"method"}),
        ({"name": "n", "url": "https://example.com", "body": "x"}, {"body"}),
        ({"name": "n", "url": "https://example.com", "expect_status": "2xx"}, {"expect_status"}),
        ({"name": "n", "url": "https://example.com", "json_value": "1"}, {"json_value"}),
        ({"name": "n", "url": "https://example.com", "json_path": "a..b"}, {"json_path"}),
        ({"name": "n", "url": "https://example.com", "headers": {"Bad Name": "x"}}, {"headers"}),
        ({"name": "n", "url": "https://example.com", "headers": {"X-A": "b\r\nInjected: 1"}}, {"headers"}),
        ({"name": "n", "url": "https://example.com", "headers": {"Transfer-Encoding": "chunked"}}, {"headers"}),
        # a check may not pose as another host, a proxy or another client: a target may trust these
        ({"name": "n", "url": "https://example.com", "headers": {"Host": "internal.example"}}, {"headers"}),
        ({"name": "n", "url": "https://example.com", "headers": {"X-Forwarded-For": "10.0.0.1"}}, {"headers"}),
        ({"name": "n", "url": "https://example.com", "headers": {"x-forwarded-host": "a"}}, {"headers"}),
        ({"name": "n", "url": "https://example.com", "headers": {"Forwarded": "for=10.0.0.1"}}, {"headers"}),
        ({"name": "n", "url": "https://example.com", "headers": {"X-Real-IP": "10.0.0.1"}}, {"headers"}),
        ({"name": "n", "url": "https://example.com", "headers": {"Proxy-Authorization": "x"}}, {"headers"}),
        ({"name": "n", "url": "https://example.com", "headers": {"Connection": "close"}}, {"headers"}),
        (
            {"name": "n", "url": "https://example.com", "failures_to_down": 11, "successes_to_up": 0},
            {"failures_to_down", "successes_to_up"},
        ),
        ({"name": "n", "url": "https://example.com", "tags": ["x" * 33]}, {"tags"}),
        ({"name": "n", "url": "https://example.com", "paused": "no"}, {"paused"}),
        (
            {"name": "n", "url": "https://example.com", "admin": True, "state": "UP"},
            {"admin": "unknown field", "state": "read-only"},
        ),
    ],
)
def test_invalid_fields_are_named(api, body, fields):
    client, auth = api
    res = client.post_json("/api/monitors", body, headers=auth, status=422).json
    assert res["error"] == "unprocessable_entity" and res["message"]
    if isinstance(fields, dict):
        assert res["fields"] == fields
    else:
        assert set(res["fields"]) == fields and all(res["fields"].values())
    assert client.get("/api/monitors", headers=auth).json["monitors"] == []


def test_patch_changes_only_what_it_names_and_checks_the_whole(api, target):
    client, auth = api
    monitor = new_monitor(client, auth, url=target.url + "/ok", interval=60, timeout=30)
    changed = client.patch_json(
        f"/api/monitors/{monitor['id']}", {"name": "renamed", "keyword": "ok"}, headers=auth
    ).json
    assert changed["name"] == "renamed" and changed["keyword"] == "ok" and changed["timeout"] == 30
    assert changed["updated_at"] >= monitor["updated_at"]
    # a shorter interval makes the stored timeout too long: the error names the field that breaks
    res = client.patch_json(f"/api/monitors/{monitor['id']}", {"interval": 20}, headers=auth, status=422).json
    assert set(res["fields"]) == {"timeout"}
    res = client.patch_json(f"/api/monitors/{monitor['id']}", {"id": 5, "nope": 1}, headers=auth, status=422).json
    assert res["fields"] == {"id": "read-only", "nope": "unknown field"}
    cleared = client.patch_json(f"/api/monitors/{monitor['id']}", {"keyword": None}, headers=auth).json
    assert cleared["keyword"] is None


def test_pause_and_resume(api, app, target):
    client, auth = api
    monitor = new_monitor(client, auth, url=target.url + "/ok")
    paused = client.patch_json(f"/api/monitors/{monitor['id']}", {"paused": True}, headers=auth).json
    assert paused["state"] == "PAUSED" and paused["paused"] is True
    assert run_sql(app, select(Monitor.due_at).where(Monitor.id == monitor["id"])) == [(None,)]
    resumed = client.patch_json(f"/api/monitors/{monitor['id']}", {"paused": False}, headers=auth).json
    assert resumed["state"] == "PENDING"
    assert run_sql(app, select(Monitor.due_at).where(Monitor.id == monitor["id"]))[0][0] is not None


def test_list_pages_filters_and_cursor(api, target):
    client, auth = api
    for name in ("alpha api", "beta web", "gamma api", "delta", "epsilon"):
        new_monitor(client, auth, name=name, url=target.url + "/ok")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/monitors", params, headers=auth).json
        seen += [m["name"] for m in page["monitors"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["alpha api", "beta web", "gamma api", "delta", "epsilon"]
    assert [m["name"] for m in client.get("/api/monitors", {"q": "API"}, headers=auth).json["monitors"]] == [
        "alpha api",
        "gamma api",
    ]
    assert len(client.get("/api/monitors", {"q": "127.0.0.1"}, headers=auth).json["monitors"]) == 5  # URL too
    assert client.get("/api/monitors", {"q": "%"}, headers=auth).json["monitors"] == []
    assert len(client.get("/api/monitors", {"state": "pending"}, headers=auth).json["monitors"]) == 5
    assert client.get("/api/monitors", {"state": "DOWN"}, headers=auth).json["monitors"] == []
    res = client.get("/api/monitors", {"state": "BROKEN", "limit": 101, "sort": "x"}, headers=auth, status=422).json
    assert set(res["fields"]) == {"state", "limit", "sort"}
    # tags, as the dashboard's search matches them: one tag exactly, or search text that is a whole tag
    new_monitor(client, auth, name="zeta", url=target.url + "/ok", tags=["prod", "eu"])
    new_monitor(client, auth, name="eta api", url=target.url + "/ok", tags=["production"])

    def names(params):
        return [m["name"] for m in client.get("/api/monitors", params, headers=auth).json["monitors"]]

    assert names({"tag": "prod"}) == names({"q": "prod"}) == ["zeta"]
    assert names({"tag": "production", "q": "api"}) == ["eta api"]
    assert names({"tag": "pro"}) == [] and names({"tag": "prod", "q": "api"}) == []


def test_check_now_results_incidents_and_uptime(api, target):
    client, auth = api
    monitor = new_monitor(client, auth, url=target.url + "/flip", failures_to_down=2)
    path = f"/api/monitors/{monitor['id']}"
    client.post(path + "/check", headers=auth)
    assert client.get(path, headers=auth).json["state"] == "UP"
    target.flip_status = 500
    first = client.post(path + "/check", headers=auth).json
    assert client.get(path, headers=auth).json["state"] == "UP"  # one failure is a blip
    client.post(path + "/check", headers=auth)
    down = client.get(path, headers=auth).json
    assert down["state"] == "DOWN" and down["last_check"]["error"] == "expected status 200-399, got 500"
    incidents = client.get(path + "/incidents", headers=auth).json["incidents"]
    assert len(incidents) == 1 and incidents[0]["ended_at"] is None
    assert incidents[0]["started_at"] == first["at"]  # from the first failure of the streak
    assert incidents[0]["cause"] == "expected status 200-399, got 500"
    assert client.get("/api/incidents", {"open": "true"}, headers=auth).json["incidents"] == incidents
    target.flip_status = 200
    client.post(path + "/check", headers=auth)
    up = client.get(path, headers=auth).json
    assert up["state"] == "UP"
    closed = client.get("/api/incidents", headers=auth).json["incidents"][0]
    assert (
        closed["ended_at"] is not None
        and client.get("/api/incidents", {"open": "true"}, headers=auth).json["incidents"] == []
    )
    assert up["uptime"] == {"24h": 50.0, "7d": 50.0, "30d": 50.0}  # 2 passes of 4 checks
    results = client.get(path + "/results", {"limit": 3}, headers=auth).json
    assert [r["ok"] for r in results["results"]] == [True, False, False] and results["next_cursor"]
    rest = client.get(path + "/results", {"cursor": results["next_cursor"]}, headers=auth).json
    assert [r["ok"] for r in rest["results"]] == [True] and rest["next_cursor"] is None


def test_a_paused_monitor_checked_now_stays_paused(api, target):
    client, auth = api
    monitor = new_monitor(client, auth, url=target.url + "/status/500", paused=True)
    for _ in range(3):
        client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    again = client.get(f"/api/monitors/{monitor['id']}", headers=auth).json
    assert again["state"] == "PAUSED" and again["last_check"]["ok"] is False
    assert client.get("/api/incidents", headers=auth).json["incidents"] == []


def test_delete_takes_the_history_with_it(api, app, target):
    client, auth = api
    monitor = new_monitor(client, auth, url=target.url + "/status/500", failures_to_down=1)
    client.post(f"/api/monitors/{monitor['id']}/check", headers=auth)
    client.delete(f"/api/monitors/{monitor['id']}", headers=auth, status=204)
    client.get(f"/api/monitors/{monitor['id']}", headers=auth, status=404)
    for table in ("check_results", "incidents", "rollups_hourly", "rollups_daily"):
        assert run_sql(app, f"SELECT COUNT(*) FROM {table}") == [(0,)], table


def test_a_user_may_own_so_many_monitors(make_myapp, owner, target):
    client = make_myapp(**{"monitors.max_per_user": "2"})
    auth = owner[1]
    for _ in range(2):
        new_monitor(client, auth, url=target.url + "/ok")
    res = client.post_json("/api/monitors", {"name": "third", "url": target.url + "/ok"}, headers=auth, status=409)
    assert "2 monitors" in res.json["message"]


def test_private_targets_are_refused_at_creation_when_denied(make_myapp, owner):
    client = make_myapp(**{"outbound.private_targets": "deny"})
    auth = owner[1]
    for url in (
        "http://127.0.0.1/",
        "http://10.1.2.3/",
        "http://[::1]:8080/",
        "http://169.254.169.254/latest",
        "http://[::ffff:192.168.1.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ):
        res = client.post_json("/api/monitors", {"name": "n", "url": url}, headers=auth, status=422).json
        assert res["fields"]["url"].startswith("blocked: "), url
    new_monitor(client, auth, url="https://example.com/")  # a name: checked when it is resolved


ACTORS = ["anonymous", "a", "b", "a-read", "a-write", "b-write", "admin-write"]
# {m} is A's monitor
MATRIX = {
    ("GET", "/api/monitors"): [401, 200, 200, 200, 200, 200, 200],
    ("POST", "/api/monitors"): [401, 201, 201, 403, 201, 201, 201],
    ("GET", "/api/monitors/{m}"): [401, 200, 403, 200, 200, 403, 403],
    ("PATCH", "/api/monitors/{m}"): [401, 200, 403, 403, 200, 403, 403],
    ("DELETE", "/api/monitors/{m}"): [401, 204, 403, 403, 204, 403, 403],
    ("POST", "/api/monitors/{m}/check"): [401, 200, 403, 403, 200, 403, 403],
    ("GET", "/api/monitors/{m}/results"): [401, 200, 403, 200, 200, 403, 403],
    ("GET", "/api/monitors/{m}/incidents"): [401, 200, 403, 200, 200, 403, 403],
    ("GET", "/api/incidents"): [401, 200, 200, 200, 200, 200, 200],
    ("POST", "/api/checks"): [401, 200, 200, 403, 200, 200, 200],
}
CASES = [(method, path, actor, status) for (method, path), row in MATRIX.items() for actor, status in zip(ACTORS, row)]


@pytest.fixture
def world(testapp, make_user, make_key, browser, target):
    a, b, admin = make_user("a@example.com"), make_user("b@example.com"), make_user("admin@example.com", "admin")
    keys = {
        "a-read": make_key(a, "read"),
        "a-write": make_key(a, "write"),
        "b-write": make_key(b, "write"),
        "admin-write": make_key(admin, "write"),
    }
    browsers = {"anonymous": browser(), "a": browser("a@example.com"), "b": browser("b@example.com")}
    monitor = new_monitor(
        testapp, {"Authorization": f"Bearer {keys['a-write'][1]}"}, name="a's", url=target.url + "/ok"
    )
    return {"keys": keys, "browsers": browsers, "monitor": monitor["id"], "target": target}


# who may do what is decided by the resource tree and its ACLs, the same whichever database holds the rows
@pytest.mark.one_backend
@pytest.mark.parametrize("method,path,actor,status", CASES, ids=[f"{m} {p} as {a}" for m, p, a, _ in CASES])
def test_authorization_matrix(world, testapp, method, path, actor, status):
    client, headers = acting_as(world, actor, method)
    body = {"name": "changed", "url": world["target"].url + "/ok"}
    if path == "/api/checks":
        body = {"urls": [world["target"].url + "/ok"]}
    res = client.request(
        path.format(m=world["monitor"]),
        method=method,
        headers={**headers, "Content-Type": "application/json"},
        body=json.dumps(body).encode() if method in ("POST", "PATCH") else b"",
        expect_errors=True,
    )
    assert res.status_int == status, res.text[:300]
    if res.status_int >= 400:
        assert res.json["error"] in ("unauthorized", "forbidden")
    # A's monitor survives everyone but A
    owner_auth = {"Authorization": f"Bearer {world['keys']['a-read'][1]}"}
    alive = testapp.get(f"/api/monitors/{world['monitor']}", headers=owner_auth, expect_errors=True).status_int
    removed = method == "DELETE" and actor in ("a", "a-write")
    assert alive == (404 if removed else 200)
    if not removed:
        name = testapp.get(f"/api/monitors/{world['monitor']}", headers=owner_auth).json["name"]
        assert name == ("changed" if method == "PATCH" and actor in ("a", "a-write") else "a's")
