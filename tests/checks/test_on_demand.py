"""Checks a user asks for (check now, the ad-hoc probe) against a slow target, over a real waitress server
with few threads: they must not hold the request threads, so other users and /api/health still answer."""

import concurrent.futures
import json
import urllib.error
import urllib.request

import pytest

from ..helpers import wait_until
from ..monitors.conftest import new_monitor, run_sql

SLOW_MS = 6000


def call(url, method="GET", headers=None, body=None, timeout=30):
    """(status, JSON body) of one real HTTP request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def site(make_myapp, serve):
    """A real server of 4 threads whose checks on demand wait 1 s for their result."""
    client = make_myapp(**{"monitors.check_wait_seconds": "1", "monitors.checks_per_user": "2"})
    return client, serve(client.app, threads=4)


@pytest.mark.slow_callbacks_expected  # as below
def test_slow_checks_now_do_not_hold_the_request_threads(site, owner, make_user, make_key, target):
    client, url = site
    auth = owner[1]
    slow = new_monitor(client, auth, url=f"{target.url}/slow?ms={SLOW_MS}", timeout=10, paused=True)
    other_auth = {"Authorization": f"Bearer {make_key(make_user('bob@example.com'), 'write')[1]}"}
    fast = new_monitor(client, other_auth, url=f"{target.url}/ok", paused=True)

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: call(f"{url}/api/monitors/{slow['id']}/check", "POST", auth), range(12)))
        # while the slow checks run: the site answers, and another user's check now is done at once
        assert target.slow_now > 0
        assert call(f"{url}/api/health", timeout=4)[0] == 200
        status, result = call(f"{url}/api/monitors/{fast['id']}/check", "POST", other_auth, timeout=4)
        assert (status, result["ok"]) == (200, True)

    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {202, 429}, answers
    assert statuses.count(202) == 2, "the user's two checks in flight go on; the rest are refused"
    running = next(body for status, body in answers if status == 202)
    assert running["status"] == "running"
    refused = next(body for status, body in answers if status == 429)
    assert "2 checks" in refused["message"]
    assert target.slow_most <= 2

    # the checks that went on are stored when they end, as the monitor's results
    wait_until(
        lambda: run_sql(client.app, "SELECT COUNT(*) FROM check_results WHERE monitor_id = :m", m=slow["id"]) == [(2,)],
        timeout=SLOW_MS / 1000 + 10,
    )


# a dozen threads busy at once on 2 cores wait for the GIL long enough to look like blocked loops
@pytest.mark.slow_callbacks_expected
def test_a_slow_probe_is_cut_to_the_wait_and_does_not_hold_the_site(site, owner, target):
    client, url = site
    auth = owner[1]
    urls = [f"{target.url}/slow?ms={SLOW_MS}&n={n}" for n in range(20)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [
            pool.submit(call, f"{url}/api/checks", "POST", auth, {"urls": urls, "timeout": 30}) for _ in range(8)
        ]
        wait_until(lambda: target.slow_now > 0)
        assert call(f"{url}/api/health", timeout=4)[0] == 200
        answers = [future.result() for future in futures]

    statuses = [status for status, _ in answers]
    # the user's two probes go on, cut to the wait; the rest are refused: 429 past the user's two, or 503 when
    # the process's waiters (4) are all taken at that moment (a probe's result is all there is to it)
    assert set(statuses) <= {200, 429, 503}, answers
    assert statuses.count(200) == 2, answers
    for status, body in answers:
        if status == 200:
            assert len(body["results"]) == 20
            assert all(not r["ok"] and "timed out" in r["error"] for r in body["results"]), body
        else:
            assert ("2 checks" if status == 429 else "busy") in body["message"], body
