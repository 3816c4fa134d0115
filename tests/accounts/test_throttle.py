"""Sign-in and sign-up throttling: atomic across threads, keyed by a real client address."""

import asyncio
import collections

import aiohttp
import pytest
from sqlalchemy.exc import OperationalError

from myapp.accounts.passwords import Passwords
from myapp.accounts.service import Throttle
from myapp.services import find

from ..conftest import PASSWORD, csrf_token

PROXY = {
    "trusted_proxy": "127.0.0.1",
    "trusted_proxy_headers": "x-forwarded-for x-forwarded-host x-forwarded-proto",
    "clear_untrusted_proxy_headers": True,
}


async def post_all(requests, connections=50):
    """Send every (url, json, headers) at once; the statuses, in order."""
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def post(url, body, headers):
            async with client.post(url, json=body, headers=headers) as res:
                await res.read()
                return res.status

        return await asyncio.gather(*(post(*r) for r in requests))


def guess(email, password="wrong guess wrong guess"):
    return {"email": email, "password": password, "scope": "read"}


# 16 threads busy at once on 2 cores wait for the GIL long enough to look like blocked loops
@pytest.mark.slow_callbacks_expected
def test_fifty_parallel_guesses_check_at_most_five_passwords(app, make_user, serve):
    make_user("ada@example.com")
    url = serve(app, threads=16) + "/api/tokens"
    # 49 wrong guesses and, last, the right password: all at once
    requests = [(url, guess("ada@example.com"), {}) for _ in range(49)]
    requests.append((url, guess("ada@example.com", PASSWORD), {}))
    statuses = asyncio.run(post_all(requests))
    counts = collections.Counter(statuses)
    assert set(counts) <= {401, 429, 201}, counts
    assert counts[401] + counts[201] <= 5, counts  # at most five were checked against the password
    assert counts[429] >= 45, counts


def test_a_long_forwarded_address_is_still_throttled(app, make_user, serve, backend):
    make_user("ada@example.com")
    url = serve(app, threads=4, **PROXY) + "/api/tokens"
    headers = {"X-Forwarded-For": "x" * 60}  # longer than any address column
    statuses = asyncio.run(post_all([(url, guess("ada@example.com"), headers)] * 1, 1))
    statuses += [asyncio.run(post_all([(url, guess("ada@example.com"), headers)], 1))[0] for _ in range(5)]
    assert statuses == [401] * 5 + [429]


def test_addresses_that_are_not_ip_addresses_share_one_bucket(make_myapp, app_settings, make_user, serve):
    make_user("ada@example.com")
    client = make_myapp(**{"auth.max_failures_per_address": "3"})
    url = serve(client.app, threads=2, **PROXY) + "/api/tokens"
    statuses = [
        asyncio.run(post_all([(url, guess(f"user{n}@example.com"), {"X-Forwarded-For": f"garbage-{n}"})], 1))[0]
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    # a real client address is a bucket of its own
    assert asyncio.run(post_all([(url, guess("x@example.com"), {"X-Forwarded-For": "203.0.113.9"})], 1)) == [401]


def test_ipv6_clients_are_throttled_by_their_64_bit_prefix(make_myapp, make_user, serve):
    client = make_myapp(**{"auth.max_failures_per_address": "2"})
    url = serve(client.app, threads=2, **PROXY) + "/api/tokens"
    statuses = [
        asyncio.run(post_all([(url, guess(f"u{n}@example.com"), {"X-Forwarded-For": f"2001:db8:1:2::{n}"})], 1))[0]
        for n in range(1, 4)
    ]
    assert statuses == [401, 401, 429]
    other = asyncio.run(post_all([(url, guess("v@example.com"), {"X-Forwarded-For": "2001:db8:1:3::1"})], 1))
    assert other == [401]


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(make_myapp, make_user, serve):
    """Without a trusted proxy, a client cannot pick its own address to dodge the per-address limit."""
    client = make_myapp(**{"auth.max_failures_per_address": "2"})
    url = serve(client.app, threads=2) + "/api/tokens"
    statuses = [
        asyncio.run(post_all([(url, guess(f"u{n}@example.com"), {"X-Forwarded-For": f"198.51.100.{n}"})], 1))[0]
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_the_password_is_not_checked_when_the_attempt_cannot_be_recorded(testapp, app, make_user, monkeypatch):
    make_user("ada@example.com")
    checked = []
    passwords = find(app.registry, Passwords)
    real_verify = passwords.verify

    async def spy(password_hash, password):
        checked.append(password)
        return await real_verify(password_hash, password)

    async def broken(*args, **kw):
        raise OperationalError("INSERT INTO throttle_hits", {}, Exception("the disk is full"))

    monkeypatch.setattr(passwords, "verify", spy)
    monkeypatch.setattr(find(app.registry, Throttle), "record", broken)
    res = testapp.post_json("/api/tokens", guess("ada@example.com", PASSWORD), expect_errors=True)
    assert res.status_int == 503 and res.json["error"] == "service_unavailable"
    assert checked == []


def test_a_successful_sign_in_clears_the_failures_of_that_address(testapp, make_user):
    make_user("ada@example.com")
    for _ in range(4):
        testapp.post_json("/api/tokens", guess("ada@example.com"), status=401)
    testapp.post_json("/api/tokens", guess("ada@example.com", PASSWORD), status=201)
    for _ in range(5):
        testapp.post_json("/api/tokens", guess("ada@example.com"), status=401)
    testapp.post_json("/api/tokens", guess("ada@example.com", PASSWORD), status=429)


def test_sign_ups_are_limited_per_address(make_myapp):
    client = make_myapp(**{"auth.max_signups_per_address": "2"})

    def signup(n, status):
        client.reset()
        token = csrf_token(client, "/signup")
        return client.post(
            "/signup",
            {"email": f"user{n}@example.com", "display_name": f"U{n}", "password": PASSWORD, "csrf_token": token},
            status=status,
        )

    signup(1, 302)
    # invalid forms do not count
    client.reset()
    client.post(
        "/signup",
        {"email": "nope", "display_name": "x", "password": "x", "csrf_token": csrf_token(client, "/signup")},
        status=422,
    )
    signup(2, 302)
    res = signup(3, 429)
    assert int(res.headers["Retry-After"]) > 0 and "Too many" in res.text


def sign_in(url, email, address, password="wrong guess wrong guess"):
    return asyncio.run(post_all([(url, guess(email, password), {"X-Forwarded-For": address})], 1))[0]


def test_the_owner_from_another_address_gets_in_while_a_guesser_is_throttled(app, make_user, serve):
    make_user("ada@example.com")
    url = serve(app, threads=2, **PROXY) + "/api/tokens"
    assert [sign_in(url, "ada@example.com", "203.0.113.66") for _ in range(6)] == [401] * 5 + [429]
    assert sign_in(url, "ada@example.com", "203.0.113.66", PASSWORD) == 429  # the guesser's address waits
    assert sign_in(url, "ada@example.com", "198.51.100.7", PASSWORD) == 201  # the owner, elsewhere, does not


def test_guesses_from_many_addresses_meet_the_accounts_ceiling(make_myapp, make_user, serve):
    make_user("ada@example.com")
    client = make_myapp(**{"auth.max_failures_per_account": "3"})
    url = serve(client.app, threads=2, **PROXY) + "/api/tokens"
    statuses = [sign_in(url, "ada@example.com", f"203.0.113.{n}") for n in range(1, 5)]
    assert statuses == [401, 401, 401, 429]
