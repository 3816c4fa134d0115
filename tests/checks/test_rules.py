"""The rules of a check and the state machine: pure functions."""

import datetime

import pytest

from myapp.checks.rules import Expectations, evaluate, find_json, normalize_status_spec, status_ranges
from myapp.checks.state import Result, Snapshot, step

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


@pytest.mark.parametrize(
    "spec,ranges",
    [
        ("200-399", ((200, 399),)),
        ("200-299,301", ((200, 299), (301, 301))),
        (" 200 , 204 - 206 ", ((200, 200), (204, 206))),
    ],
)
def test_status_specs(spec, ranges):
    assert status_ranges(spec) == ranges


@pytest.mark.parametrize("spec", ["", "abc", "200-", "99", "600", "300-200", "200;201", "2OO", "200,,201"])
def test_bad_status_specs(spec):
    with pytest.raises(ValueError):
        status_ranges(spec)


def test_status_spec_is_normalized():
    assert normalize_status_spec(" 200 - 299 , 301") == "200-299,301"


def test_each_rule_says_why_it_fails():
    assert evaluate(Expectations(), 503, b"") == "expected status 200-399, got 503"
    assert evaluate(Expectations(expect_status="200,301"), 302, b"") == "expected status 200,301, got 302"
    assert evaluate(Expectations(keyword="ok"), 200, b"nope") == "keyword 'ok' not found"
    assert evaluate(Expectations(keyword_absent="error"), 200, b"an error") == "keyword 'error' found"
    assert evaluate(Expectations(json_path="a.b"), 200, b"<html>") == "the body is not JSON"
    assert (
        evaluate(Expectations(json_path="checks.1.status"), 200, b'{"checks": [{}]}')
        == "checks.1.status not found in the JSON body"
    )
    assert (
        evaluate(Expectations(json_path="checks.0.status", json_value="pass"), 200, b'{"checks": [{"status": "fail"}]}')
        == "checks.0.status is 'fail', expected 'pass'"
    )
    assert evaluate(Expectations(tls_days=14), 200, b"", cert_days_left=3) == "certificate expires in 3 days"
    assert evaluate(Expectations(tls_days=14), 200, b"", cert_days_left=-2) == "certificate expired 2 days ago"
    assert (
        evaluate(Expectations(keyword="ok", json_path="a", json_value="true"), 200, b'{"a": true, "s": "ok"}') is None
    )


def test_json_values_are_compared_as_text():
    document = {"a": [1, {"b": True, "c": None, "d": "x", "e": 1.5}]}
    assert find_json(document, "a.0") == 1
    assert evaluate(Expectations(json_path="a.1.b", json_value="true"), 200, b'{"a": [1, {"b": true}]}') is None
    assert evaluate(Expectations(json_path="a.1.c", json_value="null"), 200, b'{"a": [1, {"c": null}]}') is None
    assert evaluate(Expectations(json_path="a.1.e", json_value="1.5"), 200, b'{"a": [1, {"e": 1.5}]}') is None
    with pytest.raises(LookupError):
        find_json(document, "a.-1")


def snapshot(state="PENDING", fail=0, passes=0, started=None, error=None, down=2, up=1):
    return Snapshot(state, fail, passes, started, error, down, up)


def ok(at=T0, slow=False):
    return Result(at, True, 200, 10, None, slow)


def fail(at=T0, error="connection refused"):
    return Result(at, False, None, 10, error)


def test_pending_until_decided():
    assert step(snapshot(up=2), ok()).state == "PENDING"
    assert step(snapshot(up=2, passes=1), ok()).state == "UP"
    assert step(snapshot(), fail()).state == "PENDING"
    assert step(snapshot(fail=1), fail()).state == "DOWN"


def test_down_opens_an_incident_from_the_first_failure_of_the_streak():
    first = step(snapshot("UP"), fail(T0, "timed out after 10 s"))
    assert (first.state, first.fail_streak, first.flipped) == ("UP", 1, False)
    second = step(
        snapshot("UP", 1, 0, first.streak_started_at, first.streak_error),
        fail(T0 + datetime.timedelta(minutes=1), "connection refused"),
    )
    assert second.state == "DOWN" and second.opens_incident and not second.closes_incident
    assert second.streak_started_at == T0 and second.streak_error == "timed out after 10 s"


def test_back_up_closes_it_after_enough_passes():
    down = snapshot("DOWN", 3, 0, T0, "x", up=2)
    once = step(down, ok())
    assert once.state == "DOWN" and once.pass_streak == 1
    twice = step(snapshot("DOWN", 0, 1, None, None, up=2), ok())
    assert twice.state == "UP" and twice.closes_incident and twice.streak_started_at is None


def test_degraded_when_slow():
    assert step(snapshot("UP"), ok(slow=True)).state == "DEGRADED"
    assert step(snapshot("DEGRADED"), ok()).state == "UP"
    assert step(snapshot("DOWN", up=1), ok(slow=True)).state == "DEGRADED"
    assert step(snapshot("DEGRADED", fail=1), fail()).state == "DOWN"


def test_paused_does_not_move():
    change = step(snapshot("PAUSED"), fail())
    assert change.state == "PAUSED" and not change.flipped and not change.opens_incident
