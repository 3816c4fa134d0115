"""alerts.service.news: which event a state change sends to one channel, decided without a database."""

from types import SimpleNamespace

import pytest

from myapp.alerts.service import news

OPENS = SimpleNamespace(opens_incident=True, closes_incident=False, state="DOWN")
CLOSES = SimpleNamespace(opens_incident=False, closes_incident=True, state="UP")
DEGRADED = SimpleNamespace(opens_incident=False, closes_incident=False, state="DEGRADED")
EXPIRES = "certificate expires in 3 days"


@pytest.mark.parametrize(
    "change, storm, cause, events, notify_degraded, sent",
    [
        (OPENS, False, "timed out", None, False, "down"),  # a channel that names no events takes them all
        (OPENS, True, "timed out", None, False, "storm"),  # in a storm: gathered into one message
        (OPENS, False, "timed out", "up,degraded", False, None),
        (OPENS, False, EXPIRES, "down", False, None),  # a certificate is not "down" news...
        (OPENS, False, EXPIRES, "certificate", False, "down"),  # ...but "certificate" news, sent as a DOWN
        (OPENS, True, EXPIRES, "certificate", False, "storm"),
        (CLOSES, False, None, "down,up", False, "up"),
        (CLOSES, False, None, "down", False, None),
        (DEGRADED, False, None, "degraded", True, "degraded"),
        (DEGRADED, False, None, "degraded", False, None),  # the monitor does not ask
        (DEGRADED, False, None, "down,up", True, None),  # the channel does not take it
        (SimpleNamespace(opens_incident=False, closes_incident=False, state="UP"), False, None, None, True, None),
    ],
)
def test_what_a_change_tells_a_channel(change, storm, cause, events, notify_degraded, sent):
    assert news(change, storm, cause, events, notify_degraded) == sent
