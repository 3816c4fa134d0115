"""The guard against server-side request forgery (outbound.private_targets = deny): a blocked check sends nothing."""

import pytest

from myapp import outbound
from myapp.settings import NotConfigured

from ..monitors.conftest import TargetServer, new_monitor

DENY = {"outbound.private_targets": "deny"}


@pytest.fixture
def denied(make_myapp, owner):
    return make_myapp(**DENY), owner[1]


HOW = " (outbound.private_targets = deny; outbound.allowed_networks can let chosen networks and hosts through)"


def test_localhost_is_refused_when_saved_as_127_0_0_1_is(denied, target):
    client, auth = denied
    for url in (target.url, target.url.replace("127.0.0.1", "localhost"), "http://LocalHost./", "http://db.localhost/"):
        res = client.post_json("/api/monitors", {"name": "n", "url": url}, headers=auth, status=422).json
        assert res["fields"]["url"].startswith("blocked: ") and res["fields"]["url"].endswith(HOW), url
    assert target.hits == []


def test_a_name_that_resolves_to_loopback_is_blocked_at_connection(make_myapp, denied, target):
    """A name may resolve elsewhere tomorrow: saved where private targets were allowed, checked where they are not."""
    client, auth = denied
    allowed = make_myapp(**{"outbound.private_targets": "allow"})
    monitor = new_monitor(allowed, auth, url=target.url.replace("127.0.0.1", "localhost") + "/ok")
    result = client.post(f"/api/monitors/{monitor['id']}/check", headers=auth).json
    assert result["error"] == "blocked: localhost resolves to a loopback address" + HOW
    assert "127.0.0.1" not in result["error"]  # what an internal name resolves to is not told
    assert target.hits == []  # nothing reached the target


def test_the_probe_is_guarded_too(denied, target):
    client, auth = denied
    for url in (target.url + "/ok", target.url.replace("127.0.0.1", "localhost") + "/ok"):
        res = client.post_json("/api/checks", {"urls": [url]}, headers=auth, status=422).json
        assert "blocked" in res["fields"]["urls"]
    assert target.hits == []


@pytest.mark.parametrize("allowed", ["127.0.0.0/8", "10.0.0.0/8, 127.0.0.1", "localhost"])
def test_allowed_networks_let_chosen_targets_through(make_myapp, owner, target, allowed):
    client = make_myapp(**DENY, **{"outbound.allowed_networks": allowed})
    auth = owner[1]
    url = target.url + "/ok" if allowed != "localhost" else target.url.replace("127.0.0.1", "localhost") + "/ok"
    monitor = new_monitor(client, auth, url=url)
    assert client.post(f"/api/monitors/{monitor['id']}/check", headers=auth).json["ok"] is True
    res = client.post_json("/api/monitors", {"name": "n", "url": "http://192.168.1.1/"}, headers=auth, status=422)
    assert res.json["fields"]["url"] == "blocked: 192.168.1.1, a private address" + HOW  # the rest stays closed


def test_a_redirect_from_an_allowed_network_to_another_private_one_is_blocked(make_myapp, owner, target):
    inside = TargetServer(host="127.0.0.2").start()
    try:
        client = make_myapp(**DENY, **{"outbound.allowed_networks": "127.0.0.1/32"})
        monitor = new_monitor(client, owner[1], url=f"{target.url}/redirect?to={inside.url}/ok")
        result = client.post(f"/api/monitors/{monitor['id']}/check", headers=owner[1]).json
        assert result["error"] == "blocked: 127.0.0.2, a loopback address" + HOW
        assert inside.hits == []
    finally:
        inside.stop()


def test_allowed_networks_that_cannot_be_read_stop_the_start(make_myapp):
    with pytest.raises(NotConfigured, match="outbound.allowed_networks: '10.0.0.0/33' is not a network"):
        make_myapp(**DENY, **{"outbound.allowed_networks": "10.0.0.0/8, 10.0.0.0/33"})


@pytest.fixture
def public_127_0_0_1(monkeypatch):
    """Treat 127.0.0.1 as a public address, so a target there can redirect to another, private one."""
    real = outbound.blocked_because
    monkeypatch.setattr(outbound, "blocked_because", lambda address: None if address == "127.0.0.1" else real(address))


def test_a_redirect_to_a_private_address_is_blocked(denied, target, public_127_0_0_1):
    inside = TargetServer(host="127.0.0.2").start()  # the "internal" service
    try:
        client, auth = denied
        monitor = new_monitor(client, auth, url=f"{target.url}/redirect?to={inside.url}/ok")
        result = client.post(f"/api/monitors/{monitor['id']}/check", headers=auth).json
        assert result["ok"] is False
        assert result["error"] == "blocked: 127.0.0.2, a loopback address" + HOW
        assert len(target.hits_on("/redirect")) == 1 and inside.hits == []
    finally:
        inside.stop()


def test_allowed_targets_are_reached(make_myapp, owner, target):
    client = make_myapp(**{"outbound.private_targets": "allow"})
    auth = owner[1]
    monitor = new_monitor(client, auth, url=target.url.replace("127.0.0.1", "localhost") + "/ok")
    assert client.post(f"/api/monitors/{monitor['id']}/check", headers=auth).json["ok"] is True


@pytest.mark.parametrize(
    "address,why",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "reserved"),
        ("100.64.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:a00:1::", "private"),
        ("fc00::1", "private"),
        ("240.0.0.1", "reserved"),
        ("fec0::1", "private"),  # site-local: deprecated, still routed inside some networks
        ("feff:ffff::1", "private"),
    ],
)
def test_what_counts_as_private(address, why):
    assert why in outbound.blocked_because(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_pass(address):
    assert outbound.blocked_because(address) is None


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://0x7f000001/", "http://127.1/", "http://0177.0.0.1:8080/", "http://0x7f.1/"]
)
def test_odd_ipv4_forms_are_refused_when_typed(make_myapp, owner, url):
    """Read as 127.0.0.1 by the resolver, hard to read by people: refused at creation, private targets or not."""
    for client in (make_myapp(**DENY), make_myapp(**{"outbound.private_targets": "allow"})):
        res = client.post_json("/api/monitors", {"name": "n", "url": url}, headers=owner[1], status=422).json
        assert res["fields"]["url"] == "write an IPv4 address as four decimal numbers, as in 192.0.2.10"
