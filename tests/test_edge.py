"""Every response: only the hosts we serve, and the security headers browsers need."""

import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.one_backend  # what every response carries, whatever the database


def test_an_unknown_host_gets_400_and_never_a_redirect_to_it(testapp):
    for host in (
        "evil.example",
        "evil.example:6543",
        "localhost.evil.example",
        "127.0.0.1:7100@evil.example",
        "localhost:80@evil.example",
        "localhost/@evil.example",
        "[::1]@evil.example",
        "localhost:80:evil.example",
    ):
        headers = {"Host": host}
        res = testapp.get("/account", headers=headers, expect_errors=True)
        assert res.status_int == 400, res.text[:200]
        assert "evil" not in res.headers.get("Location", "") and "http://evil" not in res.text
        assert res.content_type == "text/html"
    res = testapp.get("/api/users/me", headers={"Host": "evil.example"}, expect_errors=True)
    assert res.status_int == 400 and res.json["error"] == "bad_request"


def test_known_hosts_are_served(testapp):
    for host in ("localhost", "localhost:6543", "127.0.0.1:8080", "[::1]:6543", "LOCALHOST"):
        res = testapp.get("/account", headers={"Host": host}, status=302)
        assert res.location.startswith(f"http://{host}/login")


def test_public_url_names_the_host(make_myapp):
    client = make_myapp(**{"myapp.public_url": "https://status.example.com"})
    client.get("/signup", headers={"Host": "status.example.com"}, status=200)
    client.get("/signup", headers={"Host": "localhost"}, status=400)


def test_allowed_hosts_setting_and_wildcard(make_myapp):
    client = make_myapp(**{"myapp.allowed_hosts": "a.example, b.example"})
    client.get("/signup", headers={"Host": "b.example:8080"}, status=200)
    client.get("/signup", headers={"Host": "c.example"}, status=400)
    anything = make_myapp(**{"myapp.allowed_hosts": "*"})
    anything.get("/signup", headers={"Host": "c.example"}, status=200)


def http_get(url, headers=None):
    """(status, headers) of a real HTTP GET that does not follow redirects."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as res:
            return res.status, res.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers


def test_forwarded_host_from_the_trusted_proxy_is_checked(app, testapp, serve):
    url = (
        serve(
            app,
            threads=2,
            trusted_proxy="127.0.0.1",
            trusted_proxy_headers="x-forwarded-host x-forwarded-for x-forwarded-proto",
        )
        + "/account"
    )
    for forwarded in ("evil.example", "127.0.0.1:7100@evil.example"):
        status, headers = http_get(url, {"X-Forwarded-Host": forwarded})
        assert status == 400 and "Location" not in headers
    status, headers = http_get(url, {"X-Forwarded-Host": "localhost:8443"})
    assert status == 302 and headers["Location"].startswith("http://localhost:8443/login")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


@pytest.mark.parametrize("path", ["/", "/signup", "/api/health", "/static/site.css", "/nothing-here", "/api/nothing"])
def test_security_headers_on_every_response(testapp, path):
    res = testapp.get(path, expect_errors=True)
    csp = res.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in res.headers  # session.secure is off in testing.ini


def test_hsts_when_sessions_are_secure(make_myapp):
    res = make_myapp(**{"session.secure": "true"}).get("/signup")
    assert res.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_have_no_inline_script(testapp):
    for path in ("/", "/signup", "/login"):
        html = testapp.get(path).html
        assert all(script.get("src") for script in html.find_all("script"))
        assert not any(attr.startswith("on") for tag in html.find_all(True) for attr in tag.attrs)
