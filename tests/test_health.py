def test_health_reports_database_and_loops(testapp, backend):
    body = testapp.get("/api/health").json
    assert body["status"] == "ok"
    database = body["database"]
    assert database["reachable"] is True
    assert database["backend"] == backend
    assert database["driver"] == ("aiosqlite" if backend == "sqlite" else "aiomysql")
    assert database["rtt_ms"] > 0
    assert database["schema"]["current"] == database["schema"]["head"]
    runtime = body["runtime"]
    assert runtime["loop"] == "asyncio"
    assert runtime["worker_loops"] >= 1
    pools = [loop["pool"] for loop in runtime["loops"]]
    assert pools and all(p["checkedout"] == 0 for p in pools)  # every connection went back


def test_health_is_503_when_the_database_is_unreachable(app_settings, backend, make_myapp):
    broken = {
        "sqlite": "sqlite+aiosqlite:////nonexistent-dir/db.sqlite",
        "mysql": "mysql+aiomysql://nobody:wrong@127.0.0.1:3306/test",
    }[backend]
    app = make_myapp(**{"sqlalchemy.url": broken, "myapp.create_schema": "false"})
    res = app.get("/api/health", status=503)
    assert res.json["status"] == "unavailable"
    assert res.json["database"]["reachable"] is False
    assert res.json["database"]["error"]


def test_home_page_renders(testapp, backend):
    res = testapp.get("/")
    assert res.content_type == "text/html"
    assert "<h1>myapp</h1>" in res.text
    assert f"Reachable: {backend}" in res.text
    assert testapp.get("/static/site.css").content_type == "text/css"
