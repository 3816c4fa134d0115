"""Health: the status for anyone, the details for admins and the metrics token; home hides the backend."""

import pytest
from sqlalchemy.engine import make_url

METRICS = {"metrics.token": "metrics-secret-0123456789"}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_anyone_gets_the_status_and_nothing_else(testapp):
    res = testapp.get("/api/health")
    assert res.json == {"status": "ok"}
    assert "pid" not in res.text and "thread" not in res.text.lower()


@pytest.fixture
def admin_key(make_user, make_key):
    return make_key(make_user("root@example.com", role="admin"), "read")[1]


def test_admins_get_the_details(testapp, backend, db_url, admin_key, make_user, make_key):
    body = testapp.get("/api/health", headers=bearer(admin_key)).json
    assert body["status"] == "ok"
    database = body["database"]
    assert database["reachable"] is True
    assert database["backend"] == backend
    assert database["driver"] == make_url(db_url).get_driver_name()  # aiosqlite, aiomysql or asyncmy
    assert database["rtt_ms"] > 0
    assert database["schema"]["current"] == database["schema"]["head"]
    runtime = body["runtime"]
    assert runtime["loop"] == "uvloop" and runtime["worker_loops"] >= 1
    pools = [pool for loop in runtime["loops"] for pool in loop["pools"].values()]
    assert all(set(loop["pools"]) == {"write", "read"} for loop in runtime["loops"])
    # every connection went back, but the one this request's own identity lookup holds
    assert pools and sum(p["checkedout"] for p in pools) <= 1
    # a user who is not an admin learns only the status
    _, key = make_key(make_user("ada@example.com"), "read")
    assert testapp.get("/api/health", headers=bearer(key)).json == {"status": "ok"}


def test_admin_session_gets_the_details(browser, admin_key):
    assert "database" in browser("root@example.com").get("/api/health").json


def test_metrics_token_gets_the_details(make_myapp):
    client = make_myapp(**METRICS)
    assert "database" in client.get("/api/health", headers=bearer(METRICS["metrics.token"])).json
    assert client.get("/api/health", headers=bearer("metrics-secret-wrong")).json == {"status": "ok"}


def test_health_is_503_when_the_database_is_unreachable(backend, make_myapp):
    broken = {
        "sqlite": "sqlite+aiosqlite:////nonexistent-dir/db.sqlite",
        "mysql": "mysql+aiomysql://nobody:wrong@127.0.0.1:3306/myapp_test",
    }[backend]
    app = make_myapp(**{"sqlalchemy.url": broken, "myapp.create_schema": "false", **METRICS})
    res = app.get("/api/health", status=503)
    assert res.json == {"status": "unavailable"} and res.headers["Retry-After"]
    assert "nobody" not in res.text and "denied" not in res.text.lower()  # no raw database error for the public
    detailed = app.get("/api/health", headers=bearer(METRICS["metrics.token"]), status=503).json
    assert detailed["database"]["reachable"] is False and detailed["database"]["error"]


def test_home_page_hides_the_backend_from_visitors(testapp, backend, browser, admin_key, make_user):
    res = testapp.get("/")
    assert res.content_type == "text/html" and "<h1>myapp</h1>" in res.text
    assert backend not in res.text and "Reachable" not in res.text and "aiomysql" not in res.text
    make_user("ada@example.com")
    assert backend not in browser("ada@example.com").get("/").text
    admin = browser("root@example.com").get("/")
    assert "System (admins only)" in admin.text and backend in admin.text
    assert testapp.get("/static/site.css").content_type == "text/css"
