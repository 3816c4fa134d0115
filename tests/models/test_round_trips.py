"""What a request says to MySQL: the read of a signed-in caller is one SELECT (a GET reads on autocommit
connections: no COMMIT, no ROLLBACK from the pool, no second read of the user); a write ends with one COMMIT;
a request that fails is rolled back, once."""

import aiomysql.connection
import pytest


@pytest.fixture
def commands(backend, monkeypatch):
    if backend != "mysql":
        pytest.skip("counts MySQL's protocol commands")
    sent = []
    original = aiomysql.connection.Connection._execute_command

    async def recorded(self, command, sql):
        sent.append((sql if isinstance(sql, str) else sql.decode("utf-8", "replace")).split()[0].upper())
        return await original(self, command, sql)

    monkeypatch.setattr(aiomysql.connection.Connection, "_execute_command", recorded)
    return sent


def test_a_read_costs_its_query_alone(testapp, make_user, make_key, commands):
    headers = {"Authorization": f"Bearer {make_key(make_user('ada@example.com'), 'read')[1]}"}
    testapp.get("/api/users/me", headers=headers)  # warm: connections opened, pinged
    commands.clear()
    for _ in range(3):
        assert testapp.get("/api/users/me", headers=headers).json["email"] == "ada@example.com"
    assert commands == ["SELECT"] * 3


def test_a_request_that_fails_is_rolled_back_once(testapp, make_user, make_key, commands):
    headers = {"Authorization": f"Bearer {make_key(make_user('ada@example.com'), 'write')[1]}"}
    testapp.get("/api/users/me", headers=headers)
    commands.clear()
    testapp.post_json("/api/channels", {"name": "x", "kind": "webhook", "target": "http://127.0.0.1:9/"},
                      headers=headers)
    assert commands[-1] == "COMMIT" and "ROLLBACK" not in commands
    commands.clear()
    # the identity is read, then the body is refused: nothing written, the transaction is ended once
    testapp.post_json("/api/channels", {"name": "x", "kind": "sms"}, headers=headers, status=422)
    assert commands == ["SELECT", "ROLLBACK"]
    assert testapp.get("/api/channels", headers=headers).json["channels"][0]["name"] == "x"
