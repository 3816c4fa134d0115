"""What a request says to MySQL, as MySQL's own general log records it (whatever the driver): the read
of a signed-in caller is one SELECT (a GET reads on autocommit connections: no COMMIT, no ROLLBACK from
the pool, no second read of the user); a write ends with one COMMIT; a request that fails is rolled
back, once.

Only the connections this test's thread checks out are counted: the general log is the whole server's,
and the app's background tasks (the hourly prunes, on the service loop's connections) may speak at any
time.  Counting every other connection made this file fail once in a full run (issue 18, item 7).  The
log is the ``commands`` fixture (tests/conftest.py, helpers.GeneralLog).
"""


def test_a_read_costs_its_query_alone(testapp, make_user, make_key, commands):
    headers = {"Authorization": f"Bearer {make_key(make_user('ada@example.com'), 'read')[1]}"}
    testapp.get("/api/users/me", headers=headers)  # warm: connections opened, pinged
    commands.clear()
    for _ in range(3):
        assert testapp.get("/api/users/me", headers=headers).json["email"] == "ada@example.com"
    assert list(commands) == ["SELECT"] * 3


def test_a_request_that_fails_is_rolled_back_once(testapp, make_user, make_key, commands):
    headers = {"Authorization": f"Bearer {make_key(make_user('ada@example.com'), 'write')[1]}"}
    testapp.get("/api/users/me", headers=headers)
    commands.clear()
    testapp.post_json(
        "/api/channels", {"name": "x", "kind": "webhook", "target": "http://127.0.0.1:9/"}, headers=headers
    )
    sent = list(commands)
    assert sent[-1] == "COMMIT" and "ROLLBACK" not in sent
    commands.clear()
    # the identity is read, then the body is refused: nothing written, the transaction is ended once
    testapp.post_json("/api/channels", {"name": "x", "kind": "sms"}, headers=headers, status=422)
    assert list(commands) == ["SELECT", "ROLLBACK"]
    assert testapp.get("/api/channels", headers=headers).json["channels"][0]["name"] == "x"
