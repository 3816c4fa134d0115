"""TCP and DNS monitors, against real servers the tests start on loopback: through the API, both backends."""

import socket
import threading

import pytest
from dnslib import AAAA, CNAME, MX, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from ..helpers import free_port
from ..monitors.conftest import TargetServer, certificate_pair, new_monitor
from .test_checks import check_now


@pytest.fixture
def api(testapp, owner):
    return testapp, owner[1]


# -- TCP ----------------------------------------------------------------------------------


def test_a_tcp_port_that_accepts_is_up_and_one_that_refuses_is_down(api, target):
    client, headers = api
    up = check_now(client, headers, kind="tcp", host="127.0.0.1", port=target.port)
    assert up["ok"] is True and up["error"] is None and up["status_code"] is None and up["latency_ms"] >= 0
    closed = check_now(client, headers, kind="tcp", host="localhost", port=free_port())
    assert closed == {**closed, "ok": False, "error": "connection refused"}


def test_a_tls_port_that_does_not_answer_in_time_is_down(api):
    client, headers = api
    with socket.socket() as listener:  # the kernel accepts the connection; nobody ever answers the TLS hello
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        result = check_now(client, headers, kind="tcp", host="127.0.0.1", port=port, tls=True, timeout=1)
        plain = check_now(client, headers, kind="tcp", host="127.0.0.1", port=port, timeout=1)
    assert result == {**result, "ok": False, "error": "timed out after 1 s"} and 1000 <= result["latency_ms"] < 3000
    assert plain["ok"] is True  # the connection opened: that is all a plain TCP check asks


def test_a_tcp_check_with_tls_reads_the_certificate(make_myapp, owner, tmp_path):
    ca_file, context = certificate_pair(tmp_path, days=3)
    client = make_myapp(**{"outbound.ca_file": ca_file})
    headers = owner[1]
    secure = TargetServer(ssl_context=context).start()
    try:
        fields = {"kind": "tcp", "host": "127.0.0.1", "port": secure.port, "tls": True}
        assert check_now(client, headers, **fields, tls_days=14)["error"] == "certificate expires in 2 days"
        assert check_now(client, headers, **fields, tls_days=1)["ok"] is True
        assert check_now(client, headers, **{**fields, "tls": False}, tls_days=14)["ok"] is True  # no handshake
    finally:
        secure.stop()


def test_a_tcp_check_with_tls_refuses_an_untrusted_certificate(api, tmp_path):
    _, context = certificate_pair(tmp_path, days=30)
    secure = TargetServer(ssl_context=context).start()
    try:
        client, headers = api
        result = check_now(client, headers, kind="tcp", host="127.0.0.1", port=secure.port, tls=True)
        assert result["error"].startswith("TLS certificate not valid")
    finally:
        secure.stop()


def test_the_guard_applies_to_the_address_a_tcp_check_connects_to(make_myapp, owner, target):
    client = make_myapp(**{"outbound.private_targets": "deny"})
    headers = owner[1]
    res = client.post_json(
        "/api/monitors", {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}, headers=headers, status=422
    )
    assert res.json["fields"]["host"].startswith("blocked: 127.0.0.1, a loopback address")
    res = client.post_json(
        "/api/monitors", {"name": "db", "kind": "tcp", "host": "localhost", "port": 5432}, headers=headers, status=422
    )
    assert res.json["fields"]["host"].startswith("blocked: localhost resolves to a loopback address")
    # saved where private targets were allowed: checked at the connection
    allowed = make_myapp(**{"outbound.private_targets": "allow"})
    monitor = new_monitor(allowed, headers, kind="tcp", host="localhost", port=target.port)
    result = client.post(f"/api/monitors/{monitor['id']}/check", headers=headers).json
    assert result["error"].startswith("blocked: localhost resolves to a loopback address (outbound.private_targets")
    assert target.hits == []


def test_tcp_fields_are_checked(api):
    client, headers = api
    cases = [
        ({"kind": "tcp"}, {"host": "required", "port": "required"}),
        ({"kind": "tcp", "host": "db.example.com", "port": 0}, {"port": "must be at least 1"}),
        (
            {"kind": "tcp", "host": "db.example.com", "port": 70000},
            {"port": "must be at most 65535"},
        ),
        ({"kind": "tcp", "host": "db example", "port": 5432}, {"host": "not a host name or IP address"}),
        (
            {"kind": "tcp", "host": "0x7f000001", "port": 5432},
            {"host": "write an IPv4 address as four decimal numbers, as in 192.0.2.10"},
        ),
        (
            {"kind": "tcp", "host": "db\u2028.example", "port": 5432},
            {"host": "a host must not hold control characters or line breaks"},
        ),
    ]
    for fields, errors in cases:
        res = client.post_json("/api/monitors", {"name": "x", **fields}, headers=headers, status=422)
        assert res.json["fields"] == errors, fields


def test_a_monitor_keeps_only_the_fields_of_its_kind(api, target):
    client, headers = api
    made = new_monitor(
        client, headers, kind="tcp", host="Example.COM", port=443, url="https://example.com/", keyword="ok"
    )
    assert made == {**made, "kind": "tcp", "host": "example.com", "port": 443, "url": None, "keyword": None}
    changed = client.patch_json(
        f"/api/monitors/{made['id']}", {"kind": "http", "url": target.url + "/ok"}, headers=headers
    ).json
    assert changed == {**changed, "kind": "http", "host": None, "port": None, "url": target.url + "/ok"}
    res = client.patch_json(f"/api/monitors/{made['id']}", {"kind": "dns"}, headers=headers, status=422)
    assert res.json["fields"] == {"host": "required"}


# -- DNS ----------------------------------------------------------------------------------


class Zone(BaseResolver):
    """A few records of example.test, answered by dnslib's server; anything else is NXDOMAIN."""

    RECORDS = {
        ("www.example.test", "A"): [A("192.0.2.10"), A("192.0.2.11")],
        ("www.example.test", "AAAA"): [AAAA("2001:db8::10")],
        ("alias.example.test", "CNAME"): [CNAME("www.example.test.")],
        ("example.test", "MX"): [MX("mail.example.test.", 10)],
        ("example.test", "TXT"): [TXT("v=spf1 -all")],
        ("example.test", "NS"): [],
    }

    def __init__(self):
        self.questions = []

    def resolve(self, request, handler):
        reply = request.reply()
        name, kind = str(request.q.qname).rstrip(".").lower(), QTYPE[request.q.qtype]
        self.questions.append((name, kind))
        if name == "slow.example.test":
            threading.Event().wait(3)  # longer than the checks' timeout
        if not any(n == name for n, _ in self.RECORDS):
            reply.header.rcode = RCODE.NXDOMAIN
        for rdata in self.RECORDS.get((name, kind), []):
            reply.add_answer(RR(request.q.qname, QTYPE.reverse[kind], rdata=rdata, ttl=60))
        return reply


@pytest.fixture
def nameserver():
    zone = Zone()
    server = DNSServer(zone, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda *_: None))
    server.start_thread()
    zone.address = f"127.0.0.1:{server.server.server_address[1]}"
    yield zone
    server.stop()


def test_dns_answers_are_compared_with_the_values_expected(api, nameserver):
    client, headers = api
    ask = {"kind": "dns", "resolver": nameserver.address, "timeout": 2}
    assert check_now(client, headers, **ask, host="www.example.test")["ok"] is True  # any answer
    assert check_now(client, headers, **ask, host="www.example.test", expected=["192.0.2.11"])["ok"] is True
    wrong = check_now(client, headers, **ask, host="www.example.test", expected=["192.0.2.99"])
    assert wrong["error"] == "A www.example.test is 192.0.2.10, 192.0.2.11; expected 192.0.2.99"
    aaaa = {"host": "www.example.test", "record_type": "AAAA", "expected": ["2001:DB8:0::10"]}
    assert check_now(client, headers, **ask, **aaaa)["ok"] is True
    cname = {"host": "alias.example.test", "record_type": "CNAME", "expected": ["WWW.example.test."]}
    assert check_now(client, headers, **ask, **cname)["ok"] is True
    for value in ("mail.example.test", "10 mail.example.test"):
        assert check_now(client, headers, **ask, host="example.test", record_type="MX", expected=[value])["ok"]
    txt = check_now(client, headers, **ask, host="example.test", record_type="TXT", expected=["v=spf1 ~all"])
    assert txt["error"] == "TXT example.test is v=spf1 -all; expected v=spf1 ~all"
    assert ("www.example.test", "AAAA") in nameserver.questions


def test_dns_failures_say_what_came_back(api, nameserver):
    client, headers = api
    ask = {"kind": "dns", "resolver": nameserver.address, "timeout": 1}
    missing = check_now(client, headers, **ask, host="nowhere.example.test")
    assert missing["error"] == "nowhere.example.test does not exist (NXDOMAIN)"
    empty = check_now(client, headers, **ask, host="example.test", record_type="NS")
    assert empty["error"] == "no NS record for example.test"
    slow = check_now(client, headers, **ask, host="slow.example.test")
    assert slow["error"] == "timed out after 1 s"


def test_dns_fields_are_checked_and_the_resolver_guarded(make_myapp, owner, api):
    client, headers = api
    cases = [
        ({"kind": "dns"}, {"host": "required"}),
        ({"kind": "dns", "host": "example.test", "record_type": "SOA"}, "record_type"),
        ({"kind": "dns", "host": "example.test", "resolver": "dns.example.com"}, "resolver"),
        ({"kind": "dns", "host": "example.test", "resolver": "192.0.2.53:0"}, "resolver"),
        ({"kind": "dns", "host": "example.test", "expected": ["not-an-address"]}, "expected"),
        ({"kind": "dns", "host": "example.test", "record_type": "AAAA", "expected": ["192.0.2.1"]}, "expected"),
        ({"kind": "dns", "host": "example.test", "expected": ["192.0.2.1"] * 21}, "expected"),
    ]
    for fields, errors in cases:
        res = client.post_json("/api/monitors", {"name": "x", **fields}, headers=headers, status=422)
        assert (res.json["fields"] == errors) if isinstance(errors, dict) else list(res.json["fields"]) == [errors]
    made = new_monitor(client, headers, kind="dns", host="example.test", resolver="[2001:db8::53]:5353")
    assert made["resolver"] == "[2001:db8::53]:5353" and made["record_type"] == "A"
    guarded = make_myapp(**{"outbound.private_targets": "deny"})
    res = guarded.post_json(
        "/api/monitors",
        {"name": "x", "kind": "dns", "host": "example.test", "resolver": "10.0.0.53"},
        headers=owner[1],
        status=422,
    )
    assert res.json["fields"]["resolver"].startswith(
        "blocked: 10.0.0.53, a private address (outbound.private_targets = deny"
    )
