"""What one user may have, held however many of their requests arrive at once, on both backends."""

import concurrent.futures
import json
import urllib.error
import urllib.request

import pytest

from .monitors.conftest import new_monitor, owner, run_sql, target  # noqa: F401 (fixtures)

LIMIT = 10


def post(url, body, auth, content_type="application/json"):
    """(status, JSON answer) of a POST over a real connection."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={**auth, "Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def at_once(calls):
    """The results of ``calls`` (functions of no argument), all started together."""
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


@pytest.fixture
def limited(make_myapp, serve, owner):  # noqa: F811
    client = make_myapp(
        **{
            "monitors.max_per_user": str(LIMIT),
            "alerts.max_channels_per_user": str(LIMIT),
            "status_pages.max_per_user": str(LIMIT),
            "maintenance.max_windows_per_user": str(LIMIT),
            "auth.max_api_keys_per_user": str(LIMIT),
        }
    )
    return client, serve(client.app, threads=8), owner[1], owner[0]


# twenty requests at once on a fresh server: twenty threads open their loops (engines, clients) together on two
# cores, and a step's time counts its wait for the GIL (0.6-0.8 s seen in two runs of the whole suite)
@pytest.mark.slow_callbacks_expected
def test_parallel_creates_stop_at_the_limit(limited, target, app):  # noqa: F811
    client, url, auth, user = limited
    for n in range(LIMIT - 2):
        new_monitor(client, auth, name=f"m{n}", url=target.url + "/ok")
    answers = at_once(
        [lambda n=n: post(url + "/api/monitors", {"name": f"p{n}", "url": target.url + "/ok"}, auth) for n in range(20)]
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] * 2 + [409] * 18, statuses
    assert run_sql(app, f"SELECT COUNT(*) FROM monitors WHERE user_id = {user}") == [(LIMIT,)]


def test_parallel_applies_stop_at_the_limit(limited, target, app):  # noqa: F811
    client, url, auth, user = limited
    manifests = [
        {"monitors": [{"name": f"{side}{n}", "url": target.url + "/ok"} for n in range(LIMIT - 4)]}
        for side in ("a", "b")
    ]
    answers = at_once([lambda m=m: post(url + "/api/apply", m, auth) for m in manifests])
    assert sorted(status for status, _ in answers) == [200, 409], answers
    assert run_sql(app, f"SELECT COUNT(*) FROM monitors WHERE user_id = {user}") == [(LIMIT - 4,)]


@pytest.mark.parametrize(
    ("path", "body", "table"),
    [
        ("/api/channels", lambda n, t: {"name": f"c{n}", "kind": "webhook", "target": t + "/hook"}, "channels"),
        (
            "/api/maintenance",
            lambda n, t: {
                "name": f"w{n}",
                "kind": "once",
                "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-01-01T01:00:00Z",
            },
            "maintenance_windows",
        ),
    ],
)
def test_other_things_a_user_has_are_limited_too(limited, target, app, path, body, table):  # noqa: F811
    client, url, auth, user = limited
    answers = at_once([lambda n=n: post(url + path, body(n, target.url), auth) for n in range(LIMIT + 6)])
    assert sorted(status for status, _ in answers) == [201] * LIMIT + [409] * 6
    assert run_sql(app, f"SELECT COUNT(*) FROM {table} WHERE user_id = {user}") == [(LIMIT,)]
    assert f"{LIMIT} " in next(answer["message"] for status, answer in answers if status == 409)


def test_status_pages_and_api_keys_are_limited(limited, app):
    client, url, auth, user = limited
    for _ in range(LIMIT - 2):  # the fixture made two keys already
        client.post_json(
            "/api/tokens",
            {"email": "ada@example.com", "password": "correct horse battery", "scope": "read"},
            status=201,
        )
    res = client.post_json(
        "/api/tokens", {"email": "ada@example.com", "password": "correct horse battery", "scope": "read"}, status=409
    )
    assert f"{LIMIT} API keys" in res.json["message"]
    browser = client  # status pages are made in the browser
    from .conftest import csrf_token

    client.post(
        "/login",
        {"email": "ada@example.com", "password": "correct horse battery", "csrf_token": csrf_token(client)},
        status=302,
    )
    token = csrf_token(browser, "/status-pages")
    for n in range(LIMIT):
        browser.post("/status-pages", {"title": f"t{n}", "slug": f"page-{n}", "csrf_token": token}, status=302)
    res = browser.post("/status-pages", {"title": "one more", "slug": "page-x", "csrf_token": token}, status=409)
    assert f"{LIMIT} status pages" in res.text


def test_the_maintenance_list_is_paged(limited, app):
    client, url, auth, user = limited
    for n in range(LIMIT):
        client.post_json(
            "/api/maintenance",
            {
                "name": f"w{n:02}",
                "kind": "once",
                "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-01-01T01:00:00Z",
            },
            headers=auth,
            status=201,
        )
    first = client.get("/api/maintenance?limit=4", headers=auth).json
    assert [w["name"] for w in first["windows"]] == ["w00", "w01", "w02", "w03"] and first["next_cursor"]
    rest = client.get(f"/api/maintenance?limit=50&cursor={first['next_cursor']}", headers=auth).json
    assert len(rest["windows"]) == LIMIT - 4 and rest["next_cursor"] is None
