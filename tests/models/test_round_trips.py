"""What a request says to MySQL, as MySQL's own general log records it (whatever the driver): the read
of a signed-in caller is one SELECT (a GET reads on autocommit connections: no COMMIT, no ROLLBACK from
the pool, no second read of the user); a write ends with one COMMIT; a request that fails is rolled
back, once.

Only the connections this test's thread checks out are counted: the general log is the whole server's,
and the app's background tasks (the hourly prunes, on the service loop's connections) may speak at any
time.  Counting every other connection made this file fail once in a full run (issue 18, item 7).
"""

import threading

import pymysql
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool


class GeneralLog:
    """The statements of the connections the test's own thread checks out, from mysql.general_log (on
    only while a test uses it)."""

    def __init__(self, url):
        self.thread, self.ours = threading.get_ident(), set()
        event.listen(Pool, "checkout", self._checkout)
        parts = make_url(url)
        self.conn = pymysql.connect(
            host=parts.host,
            port=parts.port or 3306,
            user=parts.username,
            password=parts.password or "",
            autocommit=True,
        )
        self.cursor = self.conn.cursor()
        self.cursor.execute("SELECT @@global.general_log, @@global.log_output")
        self.was = self.cursor.fetchone()
        self.cursor.execute("SET GLOBAL log_output = 'TABLE'")
        self.cursor.execute("SET GLOBAL general_log = 1")

    def _checkout(self, dbapi_connection, record, proxy):
        if threading.get_ident() == self.thread:  # the request's loop runs in the test's thread
            self.ours.add(dbapi_connection.driver_connection.server_thread_id[0])

    def clear(self):
        self.cursor.execute("TRUNCATE TABLE mysql.general_log")

    def __iter__(self):
        if not self.ours:
            return iter([])
        self.cursor.execute(
            "SELECT argument FROM mysql.general_log WHERE command_type = 'Query' "
            "AND thread_id IN %s ORDER BY event_time",
            (sorted(self.ours),),
        )
        rows = self.cursor.fetchall()
        return iter([(a.decode() if isinstance(a, bytes) else a).split()[0].upper() for (a,) in rows])

    def close(self):
        event.remove(Pool, "checkout", self._checkout)
        self.cursor.execute("SET GLOBAL general_log = %s", (self.was[0],))
        self.cursor.execute("SET GLOBAL log_output = %s", (self.was[1],))
        self.conn.close()


@pytest.fixture
def commands(backend, db_url):
    if backend != "mysql":
        pytest.skip("counts what MySQL receives")
    log = GeneralLog(db_url)
    yield log
    log.close()


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
