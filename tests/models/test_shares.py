"""claims.shared_fairly, the one fair-share pick of the scheduler's claims and the outbox's: a decision of its
own, tested without a database."""

import operator
from types import SimpleNamespace as Row

from myapp.models.claims import shared_fairly

OWNER, CHANNEL = operator.attrgetter("user_id"), operator.attrgetter("channel_id")


def rows(*pairs):
    return [Row(id=n, user_id=user, channel_id=channel) for n, (user, channel) in enumerate(pairs)]


def test_an_owner_at_its_share_leaves_its_places_to_the_others():
    due = rows((1, 0), (1, 0), (1, 0), (2, 0), (1, 0), (3, 0))
    chosen = shared_fairly(due, [(OWNER, 2, {})])
    assert [row.id for row in chosen] == [0, 1, 3, 5]


def test_what_the_process_runs_already_counts():
    due = rows((1, 0), (2, 0), (2, 0))
    assert [row.id for row in shared_fairly(due, [(OWNER, 2, {1: 2, 2: 1})])] == [1]
    assert shared_fairly(due, [(OWNER, 2, {1: 2, 2: 2})]) == []


def test_a_row_must_fit_every_share_and_counts_under_each():
    due = rows((1, 10), (2, 10), (1, 11), (3, 10), (1, 12))
    chosen = shared_fairly(due, [(OWNER, 2, {}), (CHANNEL, 2, {10: 1})])
    # channel 10 has room for one more (row 0); owner 1 for two (rows 0 and 2); row 4 finds owner 1 full
    assert [row.id for row in chosen] == [0, 2]


def test_exempt_rows_are_taken_and_count_nothing():
    due = rows((1, 0), (1, 0), (1, 0), (1, 0))
    later = {1, 3}  # due later: they start at their own time
    chosen = shared_fairly(due, [(OWNER, 1, {})], exempt=lambda row: row.id in later)
    assert [row.id for row in chosen] == [0, 1, 3]
