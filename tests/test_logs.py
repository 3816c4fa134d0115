"""Request ids and structured logs: an id for every request, in each log line written while it is served
(on the request's event loop too), in its error body and its X-Request-ID; JSON lines when asked."""

import asyncio
import json
import logging
import re
import urllib.error
import urllib.request

import pytest
from pyramid.config import Configurator
from webtest import TestApp

from .conftest import pserve

pytestmark = pytest.mark.one_backend  # request ids and log lines, whatever the database


HEX_ID = re.compile(r"^[0-9a-f]{32}$")
LOGGING = """
[loggers]
keys = root, myapp
[handlers]
keys = console
[formatters]
keys = generic
[logger_root]
level = WARNING
handlers = console
[logger_myapp]
level = INFO
handlers =
qualname = myapp
[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic
[formatter_generic]
format = %(asctime)s %(levelname)s %(name)s %(message)s
"""


def test_every_answer_has_an_id_and_an_error_body_says_it(testapp):
    made = testapp.get("/api/nothing-here", status=404)
    assert HEX_ID.match(made.headers["X-Request-ID"])
    assert made.json["request_id"] == made.headers["X-Request-ID"]
    assert testapp.get("/api/health").headers["X-Request-ID"] != made.headers["X-Request-ID"]
    page = testapp.get("/nothing-here", status=404)
    assert page.headers["X-Request-ID"] in page.text  # the error page shows it, to be quoted


@pytest.mark.parametrize(
    "given, kept",
    [("trace-42.a:b", True), ("x" * 64, True), ("x" * 65, False), ("a b", False), ("a\u00e9", False), ("", False)],
)
def test_a_client_id_is_kept_only_when_it_is_a_plain_token(testapp, given, kept):
    res = testapp.get(
        "/api/nothing-here", headers={"X-Request-ID": given.encode("utf-8").decode("latin-1")}, status=404
    )
    assert (res.headers["X-Request-ID"] == given) is kept
    assert res.json["request_id"] == res.headers["X-Request-ID"]


def test_lines_logged_inside_a_coroutine_carry_the_request_id(caplog):
    log = logging.getLogger("myapp.tests.inside")

    async def view(request):
        await asyncio.sleep(0)
        log.warning("working on it")
        return {"ok": True}

    with Configurator(settings={}) as config:
        config.include("myapp.aio")
        config.include("myapp.logs")
        config.add_route("work", "/work")
        config.add_view(view, route_name="work", renderer="json")
        app = config.make_wsgi_app()
    try:
        with caplog.at_level(logging.INFO):
            ids = [TestApp(app).get("/work").headers["X-Request-ID"] for _ in range(3)]
        inside = [r.request_id for r in caplog.records if r.name == "myapp.tests.inside"]
        access = [r for r in caplog.records if r.name == "myapp.access"]
        assert inside == ids and [r.request_id for r in access] == ids
        assert access[0].route == "work" and access[0].status == 200 and access[0].duration_ms >= 0
        outside = logging.LogRecord("x", logging.INFO, __file__, 1, "later", (), None)
        assert logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "later", (), None).request_id == "-"
        assert outside
    finally:
        app.registry.aio_runtime.shutdown()


def test_json_logs_one_object_a_line(app_settings, tmp_path):
    settings = {**app_settings, "myapp.log_format": "json"}
    with pserve(tmp_path, settings, extra=LOGGING) as (url, process):
        request = urllib.request.Request(url + "/api/nothing", headers={"X-Request-ID": "find-me-1"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert json.load(caught.value)["request_id"] == "find-me-1"
        with urllib.request.urlopen(url + "/api/health", timeout=10) as res:
            health_id = res.headers["X-Request-ID"]
        process.terminate()
        lines = [
            line
            for line in process.stderr.read().decode().splitlines()
            if line.strip() and not line.startswith("Starting server in PID")
        ]  # pserve's own print
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert entries and len(entries) == len(lines), lines  # every line is JSON
    for entry in entries:
        assert {"time", "level", "logger", "request_id", "message"} <= set(entry)
    access = {e["request_id"]: e for e in entries if e["logger"] == "myapp.access"}
    assert access["find-me-1"]["status"] == 404 and access["find-me-1"]["path"] == "/api/nothing"
    assert access["find-me-1"]["route"] is None and access["find-me-1"]["duration_ms"] >= 0
    assert access[health_id]["route"] == "api.health" and access[health_id]["status"] == 200


def test_an_unknown_log_format_is_refused(make_myapp):
    from myapp.settings import NotConfigured

    with pytest.raises(NotConfigured, match="log_format"):
        make_myapp(**{"myapp.log_format": "xml"})
