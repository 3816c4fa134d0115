"""Every check rule, against real HTTP servers the tests start; through the API's "check now"."""

import json
import time

import pytest

from ..monitors.conftest import TargetServer, certificate_pair, new_monitor


def check_now(testapp, auth, **fields):
    monitor = new_monitor(testapp, auth, **fields)
    return testapp.post(f"/api/monitors/{monitor['id']}/check", headers=auth).json


@pytest.fixture
def api(testapp, owner):
    return testapp, owner[1]


def test_status_rules(api, target):
    client, headers = api
    passed = check_now(client, headers, url=target.url + "/ok")
    assert passed["ok"] is True and passed["status_code"] == 200 and passed["error"] is None
    assert passed["latency_ms"] >= 0 and passed["at"].endswith("Z")
    failed = check_now(client, headers, url=target.url + "/status/503")
    assert failed == {**failed, "ok": False, "status_code": 503, "error": "expected status 200-399, got 503"}
    assert check_now(client, headers, url=target.url + "/status/404", expect_status="200-299,404")["ok"] is True
    assert (
        check_now(client, headers, url=target.url + "/status/301", expect_status="200")["error"]
        == "expected status 200, got 301"
    )  # a redirect without Location is the answer


def test_keyword_rules(api, target):
    client, headers = api
    url = target.url + "/text?body=all%20systems%20healthy"
    assert check_now(client, headers, url=url, keyword="healthy")["ok"] is True
    assert check_now(client, headers, url=url, keyword="broken")["error"] == "keyword 'broken' not found"
    assert check_now(client, headers, url=url, keyword_absent="healthy")["error"] == "keyword 'healthy' found"
    assert check_now(client, headers, url=url, keyword_absent="error")["ok"] is True


def test_json_rules(api, target):
    client, headers = api
    url = target.url + "/json"
    assert check_now(client, headers, url=url, json_path="checks.0.status", json_value="pass")["ok"] is True
    assert check_now(client, headers, url=url, json_path="healthy", json_value="true")["ok"] is True
    assert (
        check_now(client, headers, url=url, json_path="version", json_value="4")["error"]
        == "version is '3', expected '4'"
    )
    assert (
        check_now(client, headers, url=url, json_path="checks.3.status")["error"]
        == "checks.3.status not found in the JSON body"
    )
    assert check_now(client, headers, url=target.url + "/ok", json_path="a")["error"] == "the body is not JSON"


def test_a_cause_holds_remote_words_on_one_line(api, target):
    """What a server answers ends up in causes, alerts and pages: no control, bidi or line-break characters."""
    import urllib.parse

    client, headers = api
    body = json.dumps({"state": "ok\u202e\r\n\x1b[31mBcc: x\u2028"})
    url = target.url + "/text?body=" + urllib.parse.quote(body)
    error = check_now(client, headers, url=url, json_path="state", json_value="ok")["error"]
    assert error == "state is 'ok    [31mBcc: x ', expected 'ok'"


def test_timeout_and_degraded(api, target):
    client, headers = api
    started = time.monotonic()
    slow = check_now(client, headers, url=target.url + "/slow?ms=3000", timeout=1)
    assert slow["ok"] is False and slow["error"] == "timed out after 1 s" and slow["status_code"] is None
    assert time.monotonic() - started < 2.5
    monitor = new_monitor(client, headers, url=target.url + "/slow?ms=300", degraded_ms=100, failures_to_down=1)
    result = client.post(f"/api/monitors/{monitor['id']}/check", headers=headers).json
    assert result["ok"] is True and result["latency_ms"] >= 300
    assert client.get(f"/api/monitors/{monitor['id']}", headers=headers).json["state"] == "DEGRADED"


def test_connection_errors_in_words(api, target):
    client, headers = api
    assert check_now(client, headers, url="http://127.0.0.1:9/")["error"] == "connection refused"
    assert (
        check_now(client, headers, url="http://no-such-host.invalid/")["error"]
        == "could not resolve no-such-host.invalid"
    )


def test_redirects_are_followed_five_times_at_most(api, target):
    client, headers = api
    assert check_now(client, headers, url=target.url + "/redirect?n=5&to=/ok", keyword="all ok")["ok"] is True
    assert check_now(client, headers, url=target.url + "/redirect?n=6&to=/ok")["error"] == "more than 5 redirects"


def test_method_headers_and_body_are_sent(api, target):
    client, headers = api
    result = check_now(
        client,
        headers,
        url=target.url + "/echo",
        method="POST",
        body='{"ping": 1}',
        headers={"X-Token": "s3cret", "Content-Type": "application/json"},
        keyword="s3cret",
    )
    assert result["ok"] is True
    hit = target.hits_on("/echo")[-1]
    assert hit["method"] == "POST" and hit["body"] == '{"ping": 1}' and hit["headers"]["X-Token"] == "s3cret"
    assert hit["headers"]["User-Agent"].startswith("myapp-monitor/")
    assert check_now(client, headers, url=target.url + "/ok", method="HEAD")["ok"] is True
    assert target.hits_on("/ok")[-1]["method"] == "HEAD"


def test_body_read_is_capped_at_one_mib(api, target):
    client, headers = api
    result = check_now(client, headers, url=target.url + "/big", keyword="needle")
    assert result["error"] == "keyword 'needle' not found"  # it is past the first MiB


def test_certificate_expiry(make_myapp, owner, tmp_path):
    ca_file, context = certificate_pair(tmp_path, days=3)
    client = make_myapp(**{"outbound.ca_file": ca_file})
    headers = owner[1]
    secure = TargetServer(ssl_context=context).start()
    try:
        assert (
            check_now(client, headers, url=secure.url + "/ok", tls_days=14)["error"] == "certificate expires in 2 days"
        )
        assert check_now(client, headers, url=secure.url + "/ok", tls_days=1)["ok"] is True
    finally:
        secure.stop()


def test_an_untrusted_certificate_fails(api, tmp_path):
    _, context = certificate_pair(tmp_path, days=30)
    secure = TargetServer(ssl_context=context).start()
    try:
        client, headers = api
        assert check_now(client, headers, url=secure.url + "/ok")["error"].startswith("TLS certificate not valid")
    finally:
        secure.stop()


def test_the_probe_checks_every_url_at_once(api, target):
    client, headers = api
    urls = [target.url + "/slow?ms=1000"] * 3 + [target.url + "/status/500", "http://127.0.0.1:9/"]
    started = time.monotonic()
    res = client.post_json("/api/checks", {"urls": urls, "timeout": 5}, headers=headers).json
    elapsed = time.monotonic() - started
    assert elapsed < 2.5  # concurrently: about as long as the slowest, not the sum (3 s)
    assert [r["ok"] for r in res["results"]] == [True, True, True, False, False]
    assert [r["url"] for r in res["results"]] == urls
    assert res["results"][3]["error"] == "expected status 200-399, got 500"
    assert client.get("/api/monitors", headers=headers).json["monitors"] == []  # nothing stored


def test_probe_input_is_checked(api):
    client, headers = api
    res = client.post_json("/api/checks", {"urls": [], "timeout": 0, "extra": 1}, headers=headers, status=422).json
    assert set(res["fields"]) == {"urls", "timeout", "extra"}
    res = client.post_json("/api/checks", {"urls": ["ftp://x"] * 21}, headers=headers, status=422).json
    assert "urls" in res["fields"]
    res = client.post_json("/api/checks", {"urls": ["ftp://example.com/"]}, headers=headers, status=422).json
    assert res["fields"]["urls"].startswith("#1: use an http")


def test_probes_are_limited_per_user(make_myapp, owner, target):
    client = make_myapp(**{"monitors.probes_per_hour": "2"})
    headers = owner[1]
    for _ in range(2):
        client.post_json("/api/checks", {"urls": [target.url + "/ok"]}, headers=headers, status=200)
    res = client.post_json("/api/checks", {"urls": [target.url + "/ok"]}, headers=headers, status=429)
    assert int(res.headers["Retry-After"]) > 0 and json.loads(res.body)["error"] == "too_many_requests"


def test_only_failures_to_reach_the_server_count_towards_a_storm(target):
    """Refused, timed out, unresolvable: maybe our own network.  A wrong answer or a redirect loop: theirs."""
    import asyncio

    from myapp import outbound
    from myapp.checks.kinds.http import Target, check
    from myapp.outbound import Guard

    from ..helpers import free_port

    async def network(url, timeout=2):
        guard = Guard(allow_private=True)
        names = outbound.Names()
        try:
            async with outbound.session(guard, outbound.tls_context(), names) as session:
                return (await check(session, guard, Target(url=url, timeout=timeout))).network
        finally:
            await names.close()

    cases = {
        f"http://127.0.0.1:{free_port()}/": True,
        f"{target.url}/slow?ms=3000": True,
        "http://no-such-host.invalid/": True,
        f"{target.url}/status/503": False,
        f"{target.url}/redirect?n=9": False,
        f"{target.url}/ok": False,
    }
    assert {url: asyncio.run(network(url, timeout=1)) for url in cases} == cases
